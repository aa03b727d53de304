"""How the book renders, for every page at once (a local Sphinx extension, see _config.yml).

* Every ``{csv-table}`` is readable without editing its page or its data file: numbers are shown
  to three significant digits by :func:`hpostudy.verdicts.fmt` (the CSV files keep full
  precision), header names read as words with their unit in parentheses (``best_s`` ->
  ``best (s)``).
* ``static/hpostudy.css``: a table wider than the text scrolls inside its own box with a
  scrollbar that stays visible, and its caption stays whole above it; figures never exceed the
  text width.
* ``{comparison-table}`` shows a paper-vs-reproduced table (``comparison.csv``) the way a
  reader scans it (:func:`hpostudy.study.verdict_page.comparison_view`): the setting stated
  once above the table (settings lettered where rows differ), the coloured verdict next to the
  finding, and the rule of each row folded in a dropdown below; the file itself is unchanged.
* ``{wide-table}`` shows a CSV file of many columns as a few narrower tables
  (:func:`hpostudy.study.page_tables.split_wide`): columns with one value in every row stated
  once above, the rest in parts that each repeat the key columns; nothing scrolls sideways.
  A long file shows its first rows and a link that downloads all of it.
* A script that two extensions both add to every page (sphinx-thebe's configuration, which
  then fails as a redeclaration in the browser) is written once.
* Numbers that chapter prose quotes from recorded runs are MyST substitutions (``{{ name }}``)
  computed from the recorded files by :mod:`hpostudy.study.book_values` at every build.
* ``extra/favicon.ico`` lies at the site's root too, where browsers look for it on pages that
  name none (the redirecting ``index.html``).
"""
from __future__ import annotations

import csv
import html
import io
import re
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import Directive, directives
from docutils.parsers.rst.directives.tables import CSVTable
from docutils.statemachine import StringList
from sphinx import addnodes

from hpostudy.study import book_values, page_tables, verdict_page
from hpostudy.verdicts import SIZE_VERDICTS, VERDICTS, fmt

BOOK = Path(__file__).parents[1]
WIDE_TABLE_ROWS = 40  # rows of a {wide-table} shown on the page; the rest by download
STATIC = Path(__file__).parent / "static"
EXTRA = Path(__file__).parent / "extra"
NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")
INTEGER = re.compile(r"[-+]?\d+")
# a float written with all its binary noise inside a text cell, e.g. "mean 1.5950000000000002"
NOISY_FLOAT = re.compile(r"(?<![\w.])-?\d+\.\d{8,}(?:[eE][-+]?\d+)?(?![\w.])")
UNITS = ("s", "ms", "min", "h", "MB", "GB", "KB", "bits")


def number_cell(text: str) -> str:
    """A data cell as shown: a number to three significant digits (``2.0`` -> ``2``,
    ``1.5950000000000002`` -> ``1.6``), counts exact, noisy floats inside text shortened, any
    other text unchanged."""
    stripped = text.strip()
    if INTEGER.fullmatch(stripped):
        return fmt(int(stripped))
    if NUMBER.fullmatch(stripped):
        return fmt(float(stripped))
    return NOISY_FLOAT.sub(lambda m: fmt(float(m.group())), text)


def header_cell(text: str) -> str:
    """A column name as shown: words instead of underscores, a trailing unit in parentheses
    (``peak_MB`` -> ``peak (MB)``, ``rel_err_vs_reverse`` -> ``rel err vs reverse``)."""
    words = text.strip().split("_")
    if len(words) > 1 and words[-1] in UNITS and words[-2]:
        return f"{' '.join(words[:-1])} ({words[-1]})"
    return " ".join(words)


def verdict_class(text: str) -> str | None:
    """The CSS class of a cell that holds a verdict or a size verdict (``agree`` ->
    ``verdict-agree``, ``not comparable`` -> ``verdict-not-comparable``), else None."""
    text = text.strip()
    if text in VERDICTS or text in SIZE_VERDICTS:
        return "verdict-" + text.replace(" ", "-")
    return None


class ReadableCSVTable(CSVTable):
    """``csv-table`` with :func:`header_cell` on header rows, :func:`number_cell` on data, and
    every verdict cell coloured (:func:`verdict_class`, styled in ``static/hpostudy.css``)."""

    def run(self):
        from docutils import nodes

        result = super().run()
        for table in result:
            for entry in table.findall(nodes.entry):
                css = verdict_class(entry.astext())
                if css:
                    entry["classes"].append(css)
        return result

    def parse_csv_data_into_rows(self, csv_data, dialect, source):
        rows, max_cols = super().parse_csv_data_into_rows(csv_data, dialect, source)
        header_option = self.options.get("header")  # a header given apart from the data
        header_rows = (len(rows) if header_option and list(csv_data) == header_option.split("\n")
                       else self.options.get("header-rows", 0))
        for i, row in enumerate(rows):
            show = header_cell if i < header_rows else number_cell
            for j, (*spans, lines) in enumerate(row):
                text = show("\n".join(lines))
                row[j] = (*spans, StringList(text.splitlines(), source=source))
        return rows, max_cols


class ComparisonTable(Directive):
    """``{comparison-table} caption`` with ``:file: path/to/comparison.csv``: the setting once
    above, the table (finding, verdict, size, paper, reproduced; a setting letter where the
    rows differ), the rules in a dropdown (the markup of sphinx-design's, so it looks alike)."""

    optional_arguments = 1
    final_argument_whitespace = True
    has_content = False
    option_spec = {"file": directives.path}

    def run(self):
        import pandas as pd

        path = self._path()
        table = pd.read_csv(path, keep_default_na=False)
        common, lettered, shown, rules = verdict_page.comparison_view(table)
        box = nodes.container(classes=["comparison-table"])
        if common:
            box += nodes.paragraph("", "", nodes.strong(
                text="Setting of every row: " if not lettered else "Setting of every row, "
                     "then of each row by the letter in its last column: "),
                nodes.Text(number_cell(common)))
        if lettered:
            items = nodes.bullet_list()
            for i, setting in enumerate(lettered):
                items += nodes.list_item("", nodes.paragraph(
                    "", "", nodes.strong(text=f"{verdict_page.setting_letter(i)}: "),
                    nodes.Text(number_cell(setting))))
            box += items
        box += self._table(shown, self.arguments[0] if self.arguments else "")
        if "rule" in rules.columns:
            box += nodes.raw("", '<details class="sd-sphinx-override sd-dropdown sd-card '
                             'sd-mb-3 comparison-rules"><summary class="sd-summary-title '
                             'sd-card-header">The rule that decides each row</summary>'
                             '<div class="sd-summary-content sd-card-body docutils">',
                             format="html")
            box += self._table(rules, "")
            box += nodes.raw("", "</div></details>", format="html")
        return [box]

    def _path(self) -> str:
        env = getattr(self.state.document.settings, "env", None)
        if env is not None:
            _, path = env.relfn2path(self.options["file"], env.docname)
            env.note_dependency(path)
            return path
        source = Path(self.state.document.current_source or ".").resolve().parent
        return str(source / self.options["file"])

    def _table(self, frame, caption: str):
        text = io.StringIO()
        frame.to_csv(text, index=False, quoting=csv.QUOTE_MINIMAL)
        content = StringList(text.getvalue().splitlines(), source=html.escape(caption))
        return ReadableCSVTable(
            "csv-table", [caption] if caption else [], {"header-rows": 1}, content,
            self.lineno, self.content_offset, self.block_text, self.state,
            self.state_machine).run()


class WideTable(ComparisonTable):
    """``{wide-table} caption`` with ``:file:``, ``:keys:`` (the leading columns that name a
    row, repeated in every part; default 1), ``:max-columns:`` (default 7) and ``:max-rows:``
    (default :data:`WIDE_TABLE_ROWS`): a longer file shows its first rows and offers the whole
    file for download, so that a chapter stays a page a browser opens at once."""

    option_spec = {"file": directives.path, "keys": directives.positive_int,
                   "max-columns": directives.positive_int, "max-rows": directives.positive_int}

    def run(self):
        import pandas as pd

        table = pd.read_csv(self._path(), keep_default_na=False, dtype=str)
        constants, parts = page_tables.split_wide(table, self.options.get("keys", 1),
                                                  self.options.get("max-columns", 7))
        box = nodes.container(classes=["wide-table"])
        if constants:
            box += nodes.paragraph("", "", nodes.strong(text="Every row: "), nodes.Text("; ".join(
                f"{header_cell(k)} {number_cell(v)}" for k, v in constants.items())))
        rows = self.options.get("max-rows", WIDE_TABLE_ROWS)
        if len(table) > rows:
            box += nodes.paragraph("", "", nodes.Text(
                f"The first {rows} of {len(table)} rows; every row and column: "),
                self._download(), nodes.Text("."))
        caption = self.arguments[0] if self.arguments else ""
        for i, part in enumerate(parts):
            label = f"{caption} ({i + 1} of {len(parts)})" if len(parts) > 1 else caption
            box += self._table(part.head(rows), label)
        return [box]

    def _download(self):
        """A link that downloads the table's file (Sphinx copies it into the built book)."""
        name = Path(self.options["file"]).name
        if getattr(self.state.document.settings, "env", None) is None:  # docutils alone
            return nodes.reference("", "", nodes.literal(text=name), refuri=self.options["file"])
        return addnodes.download_reference(
            "", "", nodes.literal(text=name), refdoc=self.state.document.settings.env.docname,
            refdomain="", reftype="download", refexplicit=True, reftarget=self.options["file"])


def _book_values(app, config) -> None:
    config.myst_substitutions = {**config.myst_substitutions,
                                 **book_values.substitutions(BOOK)}


def _add_files(app) -> None:
    app.config.html_static_path.append(str(STATIC))
    app.config.html_extra_path.append(str(EXTRA))


def _scripts_once(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        key = (str(getattr(script, "filename", script) or ""),  # inline: None or ""
               tuple(sorted(getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


def setup(app):
    app.add_directive("csv-table", ReadableCSVTable, override=True)
    app.add_directive("comparison-table", ComparisonTable)
    app.add_directive("wide-table", WideTable)
    app.connect("config-inited", _book_values)
    app.connect("builder-inited", _add_files)
    app.add_css_file("hpostudy.css")
    app.connect("html-page-context", _scripts_once)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
