"""The generated results page replaces a study's section whole and keeps the others."""

import re

from validation.results_page import markdown_table, section_table, section_tables, write_section


def test_sections_are_replaced_not_duplicated(tmp_path):
    page = tmp_path / "RESULTS.md"
    write_section("a", "python a.py", "first A", page)
    write_section("b", "python b.py", "only B", page)
    write_section("a", "python a.py", "second A", page)
    text = page.read_text()
    assert text.count("<!-- study:a -->") == 1 and "second A" in text and "first A" not in text
    assert "only B" in text and text.index("study:a") < text.index("study:b")


def test_markdown_table_formats_columns():
    table = markdown_table([{"eps": 0.1, "err": 1.23456e-3}], ["eps", "err"], {"err": ".2e"})
    assert table.splitlines() == ["| eps | err |", "|---|---|", "| 0.1 | 1.23e-03 |"]


def test_a_written_table_reads_back_cell_by_cell(tmp_path):
    page = tmp_path / "RESULTS.md"
    rows = [{"case": "a", "err": 1.23456e-3, "met": "yes"}, {"case": "b", "err": 0.5, "met": "no"}]
    write_section("t", "python t.py", "Text before.\n\n" + markdown_table(rows, ["case", "err", "met"], {"err": ".1e"}), page)
    stamp, found = section_table("t", page)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", stamp)
    assert found == [{"case": "a", "err": "1.2e-03", "met": "yes"}, {"case": "b", "err": "5.0e-01", "met": "no"}]
    assert section_table("missing", page) == ("", [])


def test_a_section_with_two_tables_reads_back_each(tmp_path):
    """The first table's rows are its own: a second table after a paragraph is not read into it."""
    page = tmp_path / "RESULTS.md"
    first = markdown_table([{"case": "a", "err": 0.5}], ["case", "err"], {"err": ".1e"})
    second = markdown_table([{"case": "a", "seed": 0}, {"case": "a", "seed": 1}], ["case", "seed"])
    write_section("t", "python t.py", f"{first}\n\nPer seed:\n\n{second}", page)
    _, tables = section_tables("t", page)
    assert tables == [[{"case": "a", "err": "5.0e-01"}],
                      [{"case": "a", "seed": "0"}, {"case": "a", "seed": "1"}]]
    assert section_table("t", page)[1] == tables[0]
