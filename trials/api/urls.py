from rest_framework.routers import SimpleRouter

from trials.api import dosing, setup, subjects

# No endpoint reads the allocation list or its seed: the next allocation exists only inside the enrolment service.
router = SimpleRouter()
router.register("trials", setup.TrialViewSet, basename="trial")
router.register("protocol-versions", setup.ProtocolVersionViewSet, basename="protocol-version")
router.register("arms", setup.ArmViewSet, basename="arm")
router.register("sites", setup.TrialSiteViewSet, basename="trial-site")
router.register("memberships", setup.TrialMembershipViewSet, basename="trial-membership")
router.register("criteria", setup.CriterionViewSet, basename="eligibility-criterion")
router.register("visit-definitions", setup.VisitDefinitionViewSet, basename="visit-definition")
router.register("screening", subjects.ScreeningViewSet, basename="screening-record")
router.register("subjects", subjects.SubjectViewSet, basename="subject")
router.register("visits", subjects.SubjectVisitViewSet, basename="subject-visit")
router.register("dosing", dosing.DosingViewSet, basename="dosing-record")
router.register("deviations", dosing.DeviationViewSet, basename="protocol-deviation")

urlpatterns = router.urls
