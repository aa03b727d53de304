"""hpostudy."""
