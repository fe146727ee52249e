"""One rule says what a database id can be (inputs.is_db_id for text, inputs.valid_id for values):
a positive number an Integer primary key holds. A larger one is not "not found" to PostgreSQL but
an error in its INTEGER cast, so it must never reach a query."""

from internal_affairs.inputs import MAX_ID, is_db_id, valid_id


def test_text_ids():
    assert is_db_id("1") and is_db_id(str(MAX_ID))
    for text in ("", None, "0", "-1", str(MAX_ID + 1), "2" * 19, "²", "１２", "1.0", " 1", "1e3"):
        assert not is_db_id(text), text


def test_value_ids():
    assert valid_id(1) and valid_id(MAX_ID)
    for value in (0, -1, MAX_ID + 1, True, "1", 1.0, None):
        assert not valid_id(value), value
