"""PLATFORM.md §5: the masks of names and phones."""

from app.core.personal import mask_name, mask_phone


def test_names_keep_their_first_character():
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳修文") == "欧***"
    assert mask_name(" 李 ") == "*"
    assert mask_name("") == "" and mask_name(None) == ""


def test_phones_keep_three_and_four_digits():
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("138-1234-5678") == "138****5678"
    assert mask_phone("0571-88887777") == "057*****7777"
    assert mask_phone("1234567") == "*******"
    assert mask_phone(None) == ""
