"""Server-rendered pages (reports); they call the same services and selectors as the API."""
