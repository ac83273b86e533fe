"""Server-rendered pages (imaging); they call the same services and selectors as the API."""
