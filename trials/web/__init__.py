"""Server-rendered pages (trials); they call the same services and selectors as the API."""
