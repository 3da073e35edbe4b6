"""`netpatrol verify`: re-fetch items still considered online and record what became of them."""
