from django.apps import AppConfig


class RewardsConfig(AppConfig):
    name = "rewards"
    verbose_name = "Rewards and ledger"

    def ready(self):
        from rewards import checks  # noqa: F401 - registers the deployment checks
