"""The interactive demo: a Streamlit page (``page.py``) and the modules it draws on.

``segnet demo`` (or ``streamlit run demo/app.py`` in a checkout) serves ``page.py``,
the only module here that imports Streamlit. Each module has one job and is imported
by name where it is used: images (:mod:`~segnet_tf.demo.images`), samples
(:mod:`~segnet_tf.demo.samples`), the model (:mod:`~segnet_tf.demo.models`), one
prediction as shown (:mod:`~segnet_tf.demo.results`) and video clips
(:mod:`~segnet_tf.demo.clips`); the drawing is :mod:`segnet_tf.visualize`'s. This
package itself only names the page, so importing it loads neither TensorFlow nor
Streamlit.
"""

from pathlib import Path

PAGE = Path(__file__).resolve().with_name("page.py")
"""The Streamlit page file that ``streamlit run`` serves."""

__all__ = ["PAGE"]
