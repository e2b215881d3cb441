from django.urls import path

from webhooks import views

app_name = "webhooks"
urlpatterns = [
    path("pending", views.PendingRewardView.as_view(), name="pending"),
    path("confirmation", views.RewardConfirmationView.as_view(), name="confirmation"),
    path("cancellation", views.RewardCancellationView.as_view(), name="cancellation"),
]
