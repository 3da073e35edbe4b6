"""Scrapy extensions: run bookkeeping and progress display."""
