"""Enhancement model pages (mounted under imaging/ by config/urls.py): the registered models, register, deactivate, runs."""
from django.urls import URLPattern, path

from imaging.enhancement.web import views

urlpatterns: list[URLPattern] = [
    path("enhancement/models/", views.model_list, name="web-enhancement-models"),
    path("enhancement/models/new/", views.model_new, name="web-enhancement-model-new"),
    path("enhancement/models/<int:pk>/", views.model_detail, name="web-enhancement-model"),
    path("enhancement/models/<int:pk>/deactivate/", views.model_deactivate_page, name="web-enhancement-model-deactivate"),
]
