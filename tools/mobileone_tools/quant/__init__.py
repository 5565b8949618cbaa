"""int8 quantisation tools (docs/int8.md)."""
