"""The structured body of an official document: the four GB/T 9704 heading levels as typed."""

from internal_affairs.documents.body import Block, diff_bodies, parse_body


def test_the_four_heading_levels_and_paragraphs():
    text = ("为做好年终考核工作，现通知如下。\n"
            "一、总体要求\n"
            "（一）考核范围\n"
            "1.机关工作人员\n"
            "（1）在编人员\n"
            "　　正文段落，前面的全角空格是缩进。\n")
    assert parse_body(text) == (
        Block("paragraph", "为做好年终考核工作，现通知如下。"),
        Block("heading", "一、总体要求", 1),
        Block("heading", "（一）考核范围", 2),
        Block("heading", "1.机关工作人员", 3),
        Block("heading", "（1）在编人员", 4),
        Block("paragraph", "正文段落，前面的全角空格是缩进。"),
    )


def test_half_width_brackets_full_width_digits_and_big_numbers():
    assert [b.level for b in parse_body("十二、其他\n(三)要求\n１２．事项\n(10)细则")] == [1, 2, 3, 4]


def test_a_running_paragraph_that_opens_with_a_level_3_mark_stays_a_paragraph():
    line = "1.各单位要高度重视，认真组织。确保按时完成。"
    assert parse_body(line) == (Block("paragraph", line),)


def test_numbers_and_markup_are_text():
    assert parse_body("3.14 是圆周率") == (Block("paragraph", "3.14 是圆周率"),)
    assert parse_body("<h1>一、</h1><script>alert(1)</script>") == (
        Block("paragraph", "<h1>一、</h1><script>alert(1)</script>"),)


def test_blank_lines_and_line_endings():
    assert parse_body("\r\n甲\r\n\r\n乙\r丙\n   \n") == (Block("paragraph", "甲"), Block("paragraph", "乙"),
                                                        Block("paragraph", "丙"))


def test_diff_of_two_bodies_line_by_line():
    assert diff_bodies("一、甲\n乙\n丙", "一、甲\n乙改\n丙\n丁") == [
        {"op": "equal", "text": "一、甲"}, {"op": "delete", "text": "乙"}, {"op": "insert", "text": "乙改"},
        {"op": "equal", "text": "丙"}, {"op": "insert", "text": "丁"}]
