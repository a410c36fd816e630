"""The generated results page replaces a study's section whole and keeps the others."""

from validation.results_page import markdown_table, write_section


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
