"""The docs site: `mkdocs build --strict` passes (every link and anchor resolves), its CLI
reference shows every command and option with the help that `tempcast COMMAND --help` prints,
and every `tempcast COMMAND --option` written in the docs or the README exists."""

import html
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEMPCAST = Path(sys.executable).with_name("tempcast")
REFERENCE = Path("reference/cli/index.html")
GENERATED_PAGE = ROOT / "docs/reference/cli.md"
OPTION_ROW = re.compile(r"^\s*\*?\s*(--[\w-]+)\s+(?:<[^>]*>\s+)?(.*)$")
COMMAND_ROW = re.compile(r"^ ([a-z][\w-]*) {2,}\S")
INLINE_TAG = re.compile(r"</?(?:code|span|a|strong|em)\b[^>]*>")
CODE = re.compile(r"```.*?```|`[^`]+`", re.DOTALL)
MENTION = re.compile(r"^[ \t]*(?:\$[ \t]*)?tempcast((?:[ \t]+[^\s#`]+)+)", re.MULTILINE)


@dataclass(frozen=True)
class Option:
    """One option as `--help` prints it: its name and its help text (defaults included)."""

    name: str
    help: str


def box_rows(text: str, title: str) -> list[str]:
    """The inner lines of the `--help` box with this title, borders stripped."""
    rows, inside = [], False
    for line in text.splitlines():
        if line.startswith(f"╭─ {title} "):
            inside = True
        elif inside and line.startswith("╰"):
            break
        elif inside:
            rows.append(line.strip().removeprefix("│").removesuffix("│").rstrip())
    return rows


def options_in(help_output: str) -> list[Option]:
    """Each option of a `--help` output, its help text joined across wrapped lines."""
    names, helps = [], []
    for row in box_rows(help_output, "Options"):
        match = OPTION_ROW.match(row)
        if match:
            names.append(match.group(1))
            helps.append(match.group(2))
        elif names:
            helps[-1] += " " + row.strip()
    return [Option(name, " ".join(text.split())) for name, text in zip(names, helps, strict=True)]


def help_output(*arguments: str) -> str:
    """What `tempcast ARGUMENTS --help` prints, on a terminal wide enough not to wrap."""
    env = {**os.environ, "COLUMNS": "1000", "NO_COLOR": "1"}
    done = subprocess.run(
        [str(TEMPCAST), *arguments, "--help"], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def plain(page_html: str) -> str:
    """A page's text: inline tags dropped, other tags a space, entities read, whitespace
    collapsed."""
    text = INLINE_TAG.sub("", page_html)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", text)).split())


def sections(reference_html: str) -> dict[str, str]:
    """The reference's text per command (`""` for `tempcast` itself), cut at its headings."""
    parts = re.split(r'<h[23] id="tempcast-?([\w-]*)"', reference_html)
    return {name: plain(body) for name, body in zip(parts[1::2], parts[2::2], strict=True)}


@pytest.fixture(scope="module")
def prefect_harness():
    """None here: building the docs and printing `--help` need no Prefect API (this overrides
    the session's, which these tests would otherwise wait for)."""
    yield


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The site, built strictly into a temporary folder."""
    folder = tmp_path_factory.mktemp("site")
    build = [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(folder)]
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run(build, cwd=ROOT, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return folder


@pytest.fixture(scope="module")
def helps() -> dict[str, str]:
    """`tempcast --help` (under `""`) and `tempcast COMMAND --help` for every command."""
    top = help_output()
    rows = box_rows(top, "Commands")
    commands = [match.group(1) for row in rows if (match := COMMAND_ROW.match(row))]
    with ThreadPoolExecutor(max_workers=4) as pool:
        outputs = dict(zip(commands, pool.map(help_output, commands), strict=True))
    return {"": top, **outputs}


def test_the_reference_shows_each_command_and_option_as_help_prints_them(site, helps):
    reference = sections((site / REFERENCE).read_text())
    assert sorted(reference) == sorted(helps), "the reference's commands are not the CLI's"
    for command, output in helps.items():
        options = options_in(output)
        assert options, f"no options parsed from `tempcast {command} --help`"
        for option in options:
            # a `code` span of the help text is a code span on the page: its backticks go
            text = option.help.replace("`", "")
            shown = re.escape(option.name) + r"(?: <[^>]*>)?: " + re.escape(text)
            assert re.search(shown, reference[command]), (
                f"the CLI reference of `tempcast {command}` does not show {option.name} as"
                f" --help prints it: {option.help!r}"
            )


def test_every_command_and_option_written_in_the_docs_exists(helps):
    known = {command: {o.name for o in options_in(output)} for command, output in helps.items()}
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    for page in (page for page in pages if page != GENERATED_PAGE):
        for code in CODE.findall(page.read_text()):
            for mention in MENTION.findall(code):
                words = mention.split()
                while words and words[0].startswith("--"):
                    assert words.pop(0) in known[""], f"{page.name}: `tempcast {mention}`"
                if not words or words[0] in ("COMMAND", "..."):
                    continue
                command = words[0]
                assert command in known, f"{page.name}: no command `tempcast {command}`"
                for word in words[1:]:
                    option = word.split("=")[0]
                    assert not option.startswith("--") or option in known[command], (
                        f"{page.name}: `tempcast {command}` has no option {option}"
                    )
