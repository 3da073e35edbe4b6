"""`netpatrol serve`: the analyst's workbench (Starlette + Jinja2, served by uvicorn)."""
