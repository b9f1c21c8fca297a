from django.urls import path

from . import link_views, views

app_name = "referrals"

urlpatterns = [
    path("situations/", views.case_list, name="case_list"),
    path("situations/nouvelle/", views.case_create, name="case_create"),
    path("situations/<int:pk>/", views.case_detail, name="case_detail"),
    path("situations/<int:pk>/modifier/", views.case_update, name="case_update"),
    path("situations/<int:pk>/cloturer/", views.case_close, name="case_close"),
    path("situations/<int:pk>/rouvrir/", views.case_reopen, name="case_reopen"),
    path("situations/<int:pk>/propositions/", views.case_routing, name="case_routing"),
    path("situations/<int:pk>/orienter/", views.case_refer, name="case_refer"),
    path("orientations/recues/", views.inbox, name="inbox"),
    path("orientations/<int:pk>/", views.referral_detail, name="referral_detail"),
    path("orientations/<int:pk>/<slug:action>/", views.referral_transition, name="referral_transition"),
    # Without an account, from the personal link e-mailed to the receiving service.
    path("reponse/<str:token>/", link_views.answer_link, name="answer_link"),
    path("reponse/<str:token>/nouveau-lien/", link_views.answer_link_renew, name="answer_link_renew"),
    path("reponse/<str:token>/<slug:action>/", link_views.answer_link_action, name="answer_link_action"),
]
