"""A real browser for layout tests: Debian's Chromium driven by Playwright (bin/ensure-browser)."""

from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
VIEWPORT = {"width": 1280, "height": 800}

# What overflows, measured in the page: the page itself, every element whose content is wider
# than its box (a table cut off in its scroll container), and column headers out of sight.
OVERFLOW = """(selector) => {
  const root = document.documentElement;
  const table = document.querySelector(selector);
  const box = table.parentElement.getBoundingClientRect();
  return {
    page: root.scrollWidth - root.clientWidth,
    container: table.parentElement.scrollWidth - table.parentElement.clientWidth,
    table_right: table.getBoundingClientRect().right - Math.min(box.right, root.clientWidth),
    hidden_headers: [...table.querySelectorAll("thead th")]
      .filter((th) => {
        const r = th.getBoundingClientRect();
        return r.width < 1 || r.right > Math.min(box.right, root.clientWidth) + 0.5;
      })
      .map((th) => th.textContent.trim()),
  };
}"""


# Elements whose content is wider than their box (cut off, or scrolling sideways).
CLIPPED = """(root) => [...document.querySelectorAll(root + " *")]
  .filter((e) => e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1)
  .map((e) => `${e.tagName.toLowerCase()}.${e.className}`)"""


@contextmanager
def browser_page() -> Iterator[Page]:
    """A 1280x800 page in a fresh Chromium. Open it after any database work: while Playwright's
    sync API runs, Django refuses ORM calls from this thread (it sees an event loop)."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser.new_page(viewport=VIEWPORT)
        finally:
            browser.close()


def overflow(page: Page, table: str) -> dict:
    return page.evaluate(OVERFLOW, table)


def clipped(page: Page, root: str) -> list[str]:
    return page.evaluate(CLIPPED, root)
