"""The "copy link" control: the page's address with the view's query string.

The link is made in the browser from the page's own address (so it is right behind a reverse
proxy and never carries a ``?token=``), shown as text, copied by a button, and kept in the
address bar (``history.replaceState``), so a reload shows the same view.
"""

from __future__ import annotations

import anywidget
import traitlets

__all__ = ["CopyLink"]

_ESM = r"""
function render({ model, el }) {
  const input = document.createElement("input");
  input.readOnly = true;
  input.className = "jl-link";
  input.size = 90;
  input.setAttribute("aria-label", "Link of this view");
  const button = document.createElement("button");
  button.className = "jl-copy";
  button.textContent = "Copy link";
  const update = () => {
    const url = new URL(window.location.href);
    url.search = model.get("query");
    input.value = url.toString();
    try { window.history.replaceState(null, "", url.toString()); } catch (e) { /* ignore */ }
  };
  model.on("change:query", update);
  update();
  button.addEventListener("click", async () => {
    input.select();
    try {
      await navigator.clipboard.writeText(input.value);
    } catch (e) {
      document.execCommand("copy");
    }
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = "Copy link"; }, 1500);
  });
  el.append(input, button);
}
export default { render };
"""


class CopyLink(anywidget.AnyWidget):
    """A read-only link of the current view and a button that copies it."""

    _esm = _ESM
    query = traitlets.Unicode("").tag(sync=True)
