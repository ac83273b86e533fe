"""Patient pages, under /patients/ (config/urls.py). Study IDs as in the API: hospital code + 5 digits."""
from django.urls import URLPattern, path, register_converter

from registry.web import downloads, views


class StudyIdConverter:
    regex = r"[A-Z0-9]{2,8}-\d{5}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(StudyIdConverter, "study_id")

urlpatterns: list[URLPattern] = [
    path("", views.patient_list_page, name="web-patient-list"),
    path("register/", views.patient_register_page, name="web-patient-register"),
    path("find/", views.patient_find_page, name="web-patient-find"),
    path("<study_id:study_id>/", views.patient_detail_page, name="web-patient-detail"),
    path("<study_id:study_id>/edit/", views.patient_edit_page, name="web-patient-edit"),
    path("<study_id:study_id>/consents/new/", views.consent_record_page, name="web-patient-consent-record"),
    path("<study_id:study_id>/consents/<int:pk>/withdraw/", views.consent_withdraw_page, name="web-patient-consent-withdraw"),
    path("<study_id:study_id>/consents/<int:pk>/signature-page", downloads.consent_signature_page,
         name="web-patient-consent-signature-page"),
    path("<study_id:study_id>/visits/new/", views.visit_enter_page, name="web-patient-visit-enter"),
    path("<study_id:study_id>/visits/<int:pk>/missed/", views.visit_missed_page, name="web-patient-visit-missed"),
    path("<study_id:study_id>/visits/<int:pk>/correct/", views.visit_correct_page, name="web-patient-visit-correct"),
]
