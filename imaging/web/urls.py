"""Page URLs of imaging (mounted under imaging/): upload, study page, previews. The reading pages are the reading
sub-app's (imaging/reading/web/urls.py, mounted at the same prefix)."""
from django.urls import URLPattern, path

from imaging.web import views

urlpatterns: list[URLPattern] = [
    path("upload/", views.upload_page, name="web-upload"),
    path("studies/<int:pk>/", views.study_detail, name="web-study-detail"),
    path("studies/<int:pk>/progress/", views.study_progress, name="web-study-progress"),
    path("studies/<int:pk>/release/", views.study_release_page, name="web-study-release"),
    path("previews/<int:pk>/image/", views.preview_image, name="web-preview-image"),
]
