from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from registry.selectors import hospital_list


@login_required
def home(request: HttpRequest) -> HttpResponse:
    memberships = request.user.memberships.select_related("hospital").order_by("hospital__code")
    return render(
        request,
        "registry/home.html",
        {"memberships": memberships, "hospital_count": hospital_list(user=request.user).count()},
    )
