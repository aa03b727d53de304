"""How the book presents results, checked without building it: tables (numbers and headers of
every csv-table), figures (text readable at the size the page shows them), where each
chapter's results come from (profile, data, device), and books of a few chapters."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import pytest
import yaml
from docutils.core import publish_parts
from PIL import Image
from docutils.parsers.rst import directives

from hpostudy import figures
from hpostudy.study import provenance
from hpostudy.study.book import _toc_of_chapters, readable_page

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))
import hpostudy_book  # noqa: E402  (the book's local Sphinx extension)


# ------------------------------------------------------------------ tables
@pytest.mark.parametrize("cell, shown", [
    ("1.5950000000000002", "1.6"), ("2.0", "2"), ("0.06195321507644007", "0.062"),
    ("-0.03929420631", "-0.0393"), ("1.3892821263588615e-06", "1.39e-06"),
    ("0.99999", "0.99999"),  # not whole: never shown as 1
    ("5535.83", "5536"), ("1010664", "1,010,664"), ("26", "26"), ("7", "7"),
    ("mean 1.5950000000000002 over seeds", "mean 1.6 over seeds"),
    ("0.9 (paper)", "0.9 (paper)"), ("NVIDIA H100 80GB HBM3", "NVIDIA H100 80GB HBM3"),
    ("2.14.1+cu130", "2.14.1+cu130"), ("", ""), ("True", "True"),
])
def test_data_cells_show_sensible_significant_digits(cell, shown):
    assert hpostudy_book.number_cell(cell) == shown


@pytest.mark.parametrize("name, shown", [
    ("best_s", "best (s)"), ("peak_MB", "peak (MB)"), ("information_bound_bits",
                                                      "information bound (bits)"),
    ("rel_err_vs_reverse", "rel err vs reverse"), ("MB_per_step", "MB per step"),
    ("wall minutes", "wall minutes"), ("T", "T"), ("x_train", "x train"),
])
def test_header_cells_read_as_words_with_their_unit(name, shown):
    assert hpostudy_book.header_cell(name) == shown


def test_csv_tables_are_formatted_when_rendered(monkeypatch):
    monkeypatch.setitem(directives._directives, "csv-table", hpostudy_book.ReadableCSVTable)
    source = (".. csv-table:: Times\n   :header-rows: 1\n\n   method,best_s,repeats\n"
              "   reverse,1.5950000000000002,2.0\n")
    html = publish_parts(source, writer_name="html5")["body"]
    assert "best (s)" in html and "best_s" not in html
    assert "<td><p>1.6</p></td>" in html and "<td><p>2</p></td>" in html
    assert "1.595000" not in html and "2.0" not in html
    header_option = (".. csv-table:: Times\n   :header: method, best_s\n\n   reverse,0.5\n")
    assert "best (s)" in publish_parts(header_option, writer_name="html5")["body"]
    verdicts = (".. csv-table:: Claims\n   :header-rows: 1\n\n   finding,verdict\n"
                "   a claim,not comparable\n   another,agree\n")
    html = publish_parts(verdicts, writer_name="html5")["body"]
    assert 'class="verdict-not-comparable"' in html and 'class="verdict-agree"' in html


def test_the_book_uses_the_extension_and_its_style():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["sphinx"]["local_extensions"] == {"hpostudy_book": "book/_ext"}
    css = (hpostudy_book.STATIC / "hpostudy.css").read_text()
    assert "max-width: 100cqw" in css  # captions as wide as the visible box


# ------------------------------------------------------------------ figures
def _legend_figure(width: float, size: float):
    fig, axes = plt.subplots(1, 3, figsize=(width, 3))
    for ax in axes:
        ax.plot([0, 1, 2], [1, 0, 1], label="a curve")
        ax.legend(fontsize=size)
        ax.tick_params(labelsize=size)
        ax.set_title("panel", fontsize=size)
        figures.integer_axis(ax, "epoch")
    fig.tight_layout()
    return fig, axes


def test_wide_figures_get_text_readable_where_the_page_shrinks_them(tmp_path):
    fig, axes = _legend_figure(15, 7)
    least = figures.min_font_points(fig)
    assert least * figures.SHOWN_WIDTH_PX / (72 * 15) == pytest.approx(figures.MIN_TEXT_PX)
    assert least > 7  # 7-point text on a 15-inch figure would be about 5 px on the page
    margins = fig.subplotpars.left, fig.subplotpars.bottom
    figures.save(fig, tmp_path, "wide")
    # laid out again for the larger text (the drawing function's tight_layout came before)
    assert fig.subplotpars.left > margins[0] and fig.subplotpars.bottom > margins[1]
    for ax in axes:
        texts = [*ax.get_legend().get_texts(), ax.title, *ax.get_xticklabels(),
                 *ax.get_yticklabels()]
        assert min(t.get_fontsize() for t in texts) >= least - 1e-9
    recorded = float(Image.open(tmp_path / "wide.png").text[figures.SMALLEST_TEXT_KEY])
    assert recorded == pytest.approx(least * figures.DPI / 72, abs=0.1)  # for the browser test
    plt.close(fig)


def test_figures_readable_already_are_left_as_drawn(tmp_path):
    fig, axes = _legend_figure(4.5, 9)
    assert figures.min_font_points(fig) < 9
    assert not figures.make_readable(fig)
    assert axes[0].get_legend().get_texts()[0].get_fontsize() == 9
    assert axes[0].xaxis.label.get_text() == "epoch"
    assert axes[0].xaxis.get_major_locator()._integer  # integer ticks for counted axes
    plt.close(fig)


# ------------------------------------------------------------------ where results come from
def _meta(folder: Path, **fields) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "meta.json").write_text(json.dumps(fields))


def test_provenance_tables_name_profile_data_seeds_device_and_torch(tmp_path):
    book = tmp_path / "book"
    (book / "chapters").mkdir(parents=True)
    (book / "chapters" / "quality.md").write_text("# How good is it?\n\ntext\n")
    _meta(book / "recorded" / "cpu" / "nb", seconds=5536.0, device="CPU (1 threads)",
          torch="2.14.1", config={"profile": "cpu", "dataset": "mnist", "n_train": 15000})
    _meta(book / "recorded" / "h100" / "nb", seconds=22.0, device="NVIDIA H100 80GB HBM3",
          torch="2.11.0+cu130", settings={"profile": "paper", "dataset": "cifar10",
                                          "seeds": 3})
    _meta(book / "generated" / "nb", seconds=5.7, cpu_seconds=2.5, threads=1,
          device="CPU (x86_64, 1 threads)", torch="2.14.1",
          settings={"profile": "smoke", "dataset": "digits", "seeds": 1})
    folder = provenance.write_tables(book, {"quality": ["nb", "not_run"]})
    rows = pd.read_csv(folder / "quality.csv")
    assert rows.source.tolist() == ["recorded (cpu)", "recorded (h100)", "this build"]
    assert rows.data.tolist() == ["MNIST (15,000 training examples)", "CIFAR-10",
                                  "embedded 8x8 digits"]
    assert rows["profile, seeds"].str.replace("\u00a0", " ").tolist() == [
        "cpu, 1 seed", "paper, 3 seeds", "smoke, 1 seed"]
    assert rows["run time"].str.replace("\u00a0", " ").tolist() == [
        "1.5 h", "22 s", "5.7 s (2.5 s CPU)"]
    assert rows.device.tolist() == ["CPU (1 thread)", "NVIDIA H100 80GB HBM3",
                                    "CPU (x86_64, 1 thread)"]
    assert rows.torch.tolist() == ["2.14.1", "2.11.0 (cu130)", "2.14.1"]
    summary = pd.read_csv(folder / "all.csv")
    assert summary.chapter.unique().tolist() == ["How good is it?"]
    assert summary.columns.tolist() == provenance.SUMMARY_COLUMNS
    assert summary["profile, seeds"].str.replace("\u00a0", " ").tolist() == [
        "cpu, 1 seed", "paper, 3 seeds", "smoke, 1 seed"]


@pytest.mark.parametrize("settings, shown", [
    ({"dataset": "mnist", "n_train": 0}, "MNIST (all training examples)"),
    ({"dataset": "mnist", "n_train": None}, "MNIST"),
    ({"dataset": "cifar10", "n_train": 1}, "CIFAR-10 (1 training example)"),
    ({"dataset": "cifar10", "n_train": 3000}, "CIFAR-10 (3,000 training examples)")])
def test_data_of_a_run_reads_as_words(settings, shown):
    assert provenance.data_label(settings) == shown


@pytest.mark.parametrize("seeds, shown", [([3, 1, 3], "1-3 seeds"), ([1], "1 seed"),
                                          ([5, 5], "5 seeds")])
def test_seeds_of_runs_read_as_a_count_or_a_range(seeds, shown):
    assert provenance.seeds_label(seeds) == shown.replace(" ", "\u00a0")


@pytest.mark.parametrize("seconds, shown", [(5.74, "5.7 s"), (89, "89 s"), (600, "10 min"),
                                            (5400, "1.5 h"), (4471.93, "75 min")])
def test_run_times_read_in_the_unit_that_fits(seconds, shown):
    assert provenance.duration(seconds) == shown.replace(" ", "\u00a0")


# ------------------------------------------------------------------ a book of a few chapters
def test_a_book_of_some_chapters_keeps_the_other_pages_and_refuses_unknown_chapters():
    content = yaml.safe_load(_toc_of_chapters(ROOT / "_toc.yml", ["parameter_paths"]))
    files = [c["file"] for part in content["parts"] for c in part["chapters"]]
    assert "book/chapters/parameter_paths" in files and "book/engine" in files
    assert not [f for f in files if f.startswith("book/chapters/")
                and f != "book/chapters/parameter_paths"]
    assert content["root"] == "book/intro"
    with pytest.raises(ValueError, match="no chapter page"):
        _toc_of_chapters(ROOT / "_toc.yml", ["parameter_path"])


def test_every_chapter_page_shows_where_its_results_come_from():
    """Issue 14: each chapter says visibly which profile, data and device its results come
    from: the provenance table of its runs."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages = [p["file"] for part in toc["parts"] for p in part["chapters"]
             if p["file"].startswith("book/chapters/")]
    assert pages
    for page in pages:
        name = page.removeprefix("book/chapters/")
        text = (ROOT / f"{page}.md").read_text()
        include = f":file: ../generated/provenance/{name}.csv"
        assert include in text, f"{page}.md does not show its provenance table ({include})"


def _comparison(folder: Path, verdicts: list[str], size: bool = True) -> None:
    folder.mkdir(parents=True)
    rows = [{"finding": f"claim {i}", "paper": "p", "reproduced": "r", "setting": "s",
             "rule": "rule", "verdict": v, **({"size": ""} if size else {})}
            for i, v in enumerate(verdicts)]
    pd.DataFrame(rows).to_csv(folder / "comparison.csv", index=False)


def test_the_verdict_page_lists_every_recorded_row_and_counts_them(tmp_path):
    from hpostudy.study import verdict_page

    book = tmp_path / "book"
    _comparison(book / "recorded" / "cpu" / "a", ["agree", "disagree", "agree"])
    _comparison(book / "recorded" / "cpu" / "b", ["not comparable"], size=False)
    _comparison(book / "recorded" / "h100" / "a", ["inconclusive"])
    _comparison(book / "generated" / "a", ["agree"] * 5)  # this build's: never listed
    (tmp_path / "_toc.yml").write_text("- file: book/chapters/two\n- file: book/chapters/one\n")
    folder = verdict_page.write_tables(book, {"one": ["a"], "two": ["b", "not_run"]})
    rows = pd.read_csv(folder / "rows.csv", keep_default_na=False)
    assert len(rows) == 5 and set(rows.run) == {"recorded (cpu)", "recorded (h100)"}
    assert rows.chapter.tolist()[0] == "two"  # book order, from the table of contents
    counts = pd.read_csv(folder / "counts.csv").set_index(["chapter", "run"])
    assert counts.loc[("one", "recorded (cpu)"), "agree"] == 2
    assert counts.loc[("one", "recorded (cpu)"), "disagree"] == 1
    assert counts.loc[("one", "recorded (h100)"), "inconclusive"] == 1
    assert counts.loc[("all chapters", "recorded"), "rows"] == 5
    _comparison(book / "recorded" / "cpu" / "c", ["agreed"])
    with pytest.raises(ValueError, match="comparison.csv has verdict"):
        verdict_page.write_tables(book, {"one": ["c"]})


def test_the_verdict_page_lists_every_row_of_every_recorded_table_of_the_book():
    """Over the repository's own recorded runs: as many rows as all their comparison tables."""
    from hpostudy.study import notebooks as nbs, verdict_page

    root = Path(__file__).resolve().parents[1]
    chapters: dict[str, list[str]] = {}
    for name, nb in nbs.discover(root).items():
        if nb.chapter:
            chapters.setdefault(nb.chapter, []).append(name)
    rows = verdict_page.recorded_rows(root / "book", chapters)
    tables = list((root / "book" / "recorded").glob("*/*/comparison.csv"))
    assert tables and len(rows) == sum(len(pd.read_csv(t)) for t in tables)
    page = (root / "book" / "verdicts.md").read_text()
    assert "generated/verdicts/rows.csv" in page and "generated/verdicts/counts.csv" in page
    assert "book/verdicts" in (root / "_toc.yml").read_text()


def test_verdict_cells_are_coloured_by_class():
    import hpostudy_book

    assert hpostudy_book.verdict_class(" agree ") == "verdict-agree"
    assert hpostudy_book.verdict_class("not comparable") == "verdict-not-comparable"
    assert hpostudy_book.verdict_class("size rejected") == "verdict-size-rejected"
    assert hpostudy_book.verdict_class("agree if the mean is above 1") is None
    css = (Path(hpostudy_book.STATIC) / "hpostudy.css").read_text()
    assert ".verdict-agree" in css and ".verdict-not-comparable" in css


# ------------------------------------------------------------------ chapter pages at a glance
def test_each_chapter_gets_its_own_verdict_counts(tmp_path):
    """Issue 24: the counts a chapter page shows under its question, one row per machine."""
    from hpostudy.study import verdict_page

    book = tmp_path / "book"
    (book / "chapters").mkdir(parents=True)
    (book / "chapters" / "one.md").write_text("# Chapter one\n")
    _comparison(book / "recorded" / "cpu" / "a", ["agree", "disagree", "agree"])
    _comparison(book / "recorded" / "h100" / "a", ["inconclusive"])
    _comparison(book / "generated" / "b", ["agree"] * 5)  # this build's: never counted
    folder = verdict_page.write_tables(book, {"one": ["a"], "two": ["b"]})
    one = pd.read_csv(folder / "one.csv")
    assert one.columns.tolist() == verdict_page.CHAPTER_COUNT_COLUMNS
    assert one.run.tolist() == ["recorded (cpu)", "recorded (h100)"]
    assert one.agree.tolist() == [2, 0] and one.disagree.tolist() == [1, 0]
    assert one.inconclusive.tolist() == [0, 1] and one.rows.tolist() == [3, 1]
    two = pd.read_csv(folder / "two.csv")
    assert two.run.tolist() == [verdict_page.NO_RECORDED_RUN] and two.rows.tolist() == [0]


def test_comparison_tables_state_the_setting_once_with_the_verdict_next_to_the_finding():
    from hpostudy.study import verdict_page

    same = pd.DataFrame({"finding": ["f1", "f2"], "paper": ["p", "p"], "reproduced": ["r", "r"],
                         "setting": ["cpu; T = 100"] * 2, "rule": ["r1", "r2"],
                         "verdict": ["agree", "disagree"], "size": ["", ""]})
    common, lettered, shown, rules = verdict_page.comparison_view(same)
    assert common == "cpu; T = 100" and lettered == []
    assert shown.columns.tolist() == ["finding", "verdict", "paper", "reproduced"]  # no size
    assert rules.to_dict("list") == {"finding": ["f1", "f2"], "rule": ["r1", "r2"]}
    differ = same.assign(setting=["cpu (a; b); T = 100; budget 1", "cpu (a; b); T = 100"],
                         size=["size reproduced", ""])
    common, lettered, shown, _ = verdict_page.comparison_view(differ)
    assert common == "cpu (a; b); T = 100"  # no split inside parentheses
    assert lettered == ["budget 1", "the common setting only"]
    assert shown.columns.tolist() == [*verdict_page.SHOWN_COLUMNS, "setting"]
    assert shown.setting.tolist() == ["A", "B"]
    assert [verdict_page.setting_letter(i) for i in (0, 25, 26)] == ["A", "Z", "AA"]


def test_comparison_tables_render_setting_table_and_folded_rules(tmp_path, monkeypatch):
    monkeypatch.setitem(directives._directives, "csv-table", hpostudy_book.ReadableCSVTable)
    monkeypatch.setitem(directives._directives, "comparison-table",
                        hpostudy_book.ComparisonTable)
    _comparison(tmp_path / "a", ["agree", "not comparable"])
    source = ".. comparison-table:: Paper vs reproduced\n   :file: a/comparison.csv\n"
    html = publish_parts(source, source_path=str(tmp_path / "page.rst"),
                         writer_name="html5")["body"]
    assert html.count("Setting of every row") == 1 and "<th class=\"head\"><p>rule" in html
    head = html[html.index("<thead>"):html.index("</thead>")]
    assert head.index("finding") < head.index("verdict") < head.index("paper")
    assert "setting" not in head and "rule" not in head
    assert 'class="verdict-agree"' in html and "<details" in html
    assert html.index("<details") < html.index("rule</p></th>")


def test_every_chapter_page_answers_first_and_folds_its_provenance():
    """Issue 24: under the title, the chapter's verdict counts; provenance in a dropdown and
    only the chapter's own runs; comparison tables through the comparison-table directive."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages = [p["file"] for part in toc["parts"] for p in part["chapters"]
             if p["file"].startswith("book/chapters/")]
    for page in pages:
        name = page.removeprefix("book/chapters/")
        text = (ROOT / f"{page}.md").read_text()
        counts = text.find(f":file: ../generated/verdicts/{name}.csv")
        assert 0 < counts < text.find("\n## "), f"{page}: verdict counts not above section 1"
        provenance_at = text.find(f":file: ../generated/provenance/{name}.csv")
        assert "{dropdown}" in text[:provenance_at], f"{page}: provenance not in a dropdown"
        assert "run_times.csv" not in text, f"{page}: lists every notebook's run time"
        for block in text.split("```{csv-table}")[1:]:
            assert "comparison.csv" not in block.split("```", 1)[0], (
                f"{page}: a comparison table shown as a plain csv-table")


def test_wide_tables_split_into_parts_that_repeat_their_keys():
    from hpostudy.study import page_tables

    frame = pd.DataFrame({"method": ["a", "b"], "T": [10, 10], "x1": [1, 2], "x2": [3, 4],
                          "x3": [5, 6], "empty": ["", ""], "device": ["cpu", "cpu"]})
    constants, parts = page_tables.split_wide(frame, keys=1, max_columns=3)
    assert constants == {"T": "10", "device": "cpu"}
    assert [p.columns.tolist() for p in parts] == [["method", "x1", "x2"], ["method", "x3"]]
    constants, parts = page_tables.split_wide(frame.iloc[:1], keys=2, max_columns=10)
    assert constants == {} and len(parts) == 1 and "empty" not in parts[0].columns
    with pytest.raises(ValueError, match="must exceed"):
        page_tables.split_wide(frame, keys=2, max_columns=2)


@pytest.mark.parametrize("page, files", [
    ("book/engine.md", ["hypergrad_cpu.csv", "hypergrad_cpu_T10000.csv",
                        "hypergrad_cpu_T200000.csv", "hypergrad_cuda_h100.csv"]),
    ("book/chapters/franceschi.md", ["hmtl/summary.csv", "rt_ho/summary.csv"])])
def test_the_wide_tables_of_the_book_are_shown_in_narrow_parts(page, files):
    """Issue 24: the engine's benchmark tables and Franceschi's summaries scrolled sideways
    (1,500-1,750 px in a 784-px column); shown through wide-table, no part has more than
    seven columns."""
    from hpostudy.study import page_tables

    text = (ROOT / page).read_text()
    for block in text.split("```{csv-table}")[1:]:
        assert not any(f in block.split("```", 1)[0] for f in files), f"{page}: plain {block}"
    blocks = [b.split("```", 1)[0] for b in text.split("```{wide-table}")[1:]]
    for name in files:
        shown = [b for b in blocks if name in b]
        assert shown, f"{page} does not show {name} as a wide-table"
        for block in shown:
            path = block.split(":file: ", 1)[1].split("\n", 1)[0]
            csv = (ROOT / page).parent / path
            if not csv.exists():  # this build's copy: the recorded one has the same columns
                continue
            keys = int(block.split(":keys: ", 1)[1].split("\n", 1)[0]) if ":keys:" in block else 1
            _, parts = page_tables.split_wide(pd.read_csv(csv, dtype=str,
                                                          keep_default_na=False), keys)
            assert max(len(p.columns) for p in parts) <= 7


def test_wide_tables_render_constants_once_and_parts(tmp_path, monkeypatch):
    monkeypatch.setitem(directives._directives, "csv-table", hpostudy_book.ReadableCSVTable)
    monkeypatch.setitem(directives._directives, "wide-table", hpostudy_book.WideTable)
    pd.DataFrame({"method": ["a", "b"], "device": ["cpu", "cpu"],
                  **{f"c{i}_s": [i, i + 1] for i in range(8)}}).to_csv(tmp_path / "w.csv",
                                                                        index=False)
    source = ".. wide-table:: Times\n   :file: w.csv\n"
    html = publish_parts(source, source_path=str(tmp_path / "page.rst"),
                         writer_name="html5")["body"]
    assert html.count("<table") == 2 and "Times (1 of 2)" in html and "Times (2 of 2)" in html
    assert "Every row: </strong>device cpu" in html and "c0 (s)" in html


def test_long_wide_tables_show_their_first_rows_and_a_download(tmp_path, monkeypatch):
    """A chapter that inlined every row of its recorded tables (13,000 rows, 2 MB) took the
    browser longer to open than a reader waits (and timed the browser test out in CI)."""
    monkeypatch.setitem(directives._directives, "csv-table", hpostudy_book.ReadableCSVTable)
    monkeypatch.setitem(directives._directives, "wide-table", hpostudy_book.WideTable)
    pd.DataFrame({"seed": range(100), "error": [f"row{i}x" for i in range(100)]}).to_csv(
        tmp_path / "long.csv", index=False)
    body = publish_parts(".. wide-table:: Long\n   :file: long.csv\n   :max-rows: 30\n",
                         source_path=str(tmp_path / "page.rst"), writer_name="html5")["body"]
    assert "row29x" in body and "row30x" not in body
    assert "The first 30 of 100 rows" in body and 'href="long.csv"' in body
    short = publish_parts(".. wide-table:: Long\n   :file: long.csv\n   :max-rows: 100\n",
                          source_path=str(tmp_path / "page.rst"), writer_name="html5")["body"]
    assert "row99x" in short and "The first" not in short


# ------------------------------------------------------------------ executed notebook pages
def test_notebook_pages_show_no_paths_or_internal_objects():
    """Issue 24.2: no output_dir of the machine that ran it, no dict of PosixPath objects."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    injected = nbformat.v4.new_code_cell('# Parameters\nprofile = "smoke"\n'
                                         'output_dir = "/tmp/x/smoke/results/hmtl"\n')
    injected.metadata["tags"] = ["injected-parameters"]
    drawn = nbformat.v4.new_code_cell("figures.hmtl(results, cfg.output_dir)")
    drawn.outputs = [
        nbformat.v4.new_output("execute_result", {"text/plain": "{'fig': PosixPath('/tmp/f.png')}"},
                               execution_count=1),
        nbformat.v4.new_output("display_data", {"image/png": "iVBO", "text/plain": "<Figure>"})]
    table = nbformat.v4.new_code_cell('results["summary"]')
    table.outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "a table",
                                                               "text/html": "<table/>"},
                                            execution_count=2)]
    nb.cells = [injected, drawn, table]
    readable_page(nb)
    assert "output_dir" not in nb.cells[0].source and 'profile = "smoke"' in nb.cells[0].source
    assert [o.output_type for o in nb.cells[1].outputs] == ["display_data"]
    assert len(nb.cells[2].outputs) == 1


def test_notebook_tables_are_shown_whole():
    from hpostudy.study import config

    with pd.option_context("display.max_colwidth", 50, "display.max_columns", 20,
                           "display.max_rows", 60, "display.width", 80):  # restored after
        config.readable_tables()
        frame = pd.DataFrame({"finding": ["word " * 40]})
        assert "..." not in frame.to_html() and frame.finding[0].strip() in frame.to_html()
