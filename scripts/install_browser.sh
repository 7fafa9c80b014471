#!/usr/bin/env bash
# Installs what the demo's browser test needs: Debian's Chromium and Playwright for
# Python (Playwright's own browser download is not used). Run as root, inside the venv.
set -euo pipefail
if [ ! -x /usr/bin/chromium ]; then
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium
fi
python -m pip install --quiet playwright streamlit
/usr/bin/chromium --version
