"""The overlay videos of `segment_video` play in a browser (Debian's Chromium, Playwright).

Needs `/usr/bin/chromium` (`apt-get install -y chromium`), the `playwright` Python
package and PyAV; skipped when Chromium or Playwright is missing.
"""

from fractions import Fraction

import keras
import pytest
from data_fixtures import CHROMIUM, CHROMIUM_FLAGS, browser_or_skip
from video_fixtures import write_clip

import segnet_tf
from segnet_tf.inference import Segmenter, segment_video

sync_api = browser_or_skip()

# What the browser made of the video, once it has decoded a frame or given up.
LOADED = "() => { const v = document.getElementById('v'); return v.readyState >= 2 || v.error; }"
FACTS = """() => {
  const v = document.getElementById("v");
  return {ready: v.readyState, width: v.videoWidth, height: v.videoHeight,
          duration: v.duration, error: v.error && v.error.code};
}"""
WAIT_MS = 120_000  # for a state; the machine may be busy


def test_overlay_videos_play_in_chromium(tmp_path):
    keras.utils.set_random_seed(0)
    segmenter = Segmenter(segnet_tf.get_model("segnet_basic", 11, width=1 / 16))
    clip = write_clip(tmp_path / "clip.mp4", num_frames=15, rate=Fraction(25, 2))
    videos = [tmp_path / "overlay.mp4", tmp_path / "overlay.webm"]
    for video in videos:
        segment_video(segmenter, clip, video)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page()
            for video in videos:
                html = tmp_path / f"{video.suffix[1:]}.html"
                html.write_text(f'<video id="v" muted preload="auto" src="{video.name}"></video>')
                page.goto(html.as_uri())
                page.wait_for_function(LOADED, timeout=WAIT_MS)
                facts = page.evaluate(FACTS)
                assert facts["error"] is None, f"{video.name}: media error {facts['error']}"
                assert facts["ready"] >= 2 and (facts["width"], facts["height"]) == (48, 32)
                assert facts["duration"] == pytest.approx(15 / 12.5, abs=0.1)
        finally:
            browser.close()
