"""Rendering JavaScript pages through Chromium (scrapy-playwright), hardened for hostile pages.

    detect.py    does a plainly fetched page look like a JavaScript shell?
    browser.py   find the Chromium binary; the Scrapy settings that install the browser path
    socks.py     the SOCKS5 gate every browser connection goes through (private-network guard)
    routing.py   the per-request filter inside the browser (guard, resource blocking, navigation cap)
    actions.py   page actions (wait_for, scroll, click) and evidence capture (screenshot on hits)
    handler.py   the download handler: scrapy-playwright with deadlines, page hygiene, context recycling
    errors.py    what can go wrong on a rendered page, as error kinds the run counts
"""
