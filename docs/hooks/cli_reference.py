"""mkdocs hook: the CLI reference page, generated from the Typer app at every build.

`docs/reference/cli.md` holds a marker; this hook replaces it with what Typer's own generator
(`typer flows.cli utils docs`) writes for the `tempcast` app, its headings one level down under the
page's title. Nothing is copied by hand, so the page says what `tempcast COMMAND --help` says.
"""

import re
import subprocess
import sys
from typing import Any

PAGE = "reference/cli.md"
MARKER = "<!-- generated: tempcast CLI -->"
HEADING = re.compile(r"^(#+ )", flags=re.MULTILINE)


def cli_markdown() -> str:
    """The Markdown that Typer generates for the `tempcast` app, one level below the page's
    title (in this Python, so the installed project's app)."""
    command = [sys.executable, "-m", "typer", "flows.cli", "utils", "docs", "--name", "tempcast"]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the CLI reference could not be generated: {done.stderr.strip()}")
    return HEADING.sub(r"#\1", done.stdout)


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    """Put the generated reference where the CLI page's marker is; other pages pass as they are."""
    if page.file.src_uri != PAGE:
        return markdown
    if MARKER not in markdown:
        raise RuntimeError(f"{PAGE} has lost its marker {MARKER!r}")
    return markdown.replace(MARKER, cli_markdown())
