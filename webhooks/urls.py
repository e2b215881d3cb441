from django.urls import path

from webhooks import views

app_name = "webhooks"
urlpatterns = [
    # One URL for every loyalty notification: the body's event_id names the kind.
    path("", views.LoyaltyNotificationView.as_view(), name="notification"),
    # One URL per kind.
    path("pending", views.PendingRewardView.as_view(), name="pending"),
    path("confirmation", views.RewardConfirmationView.as_view(), name="confirmation"),
    path("cancellation", views.RewardCancellationView.as_view(), name="cancellation"),
]
