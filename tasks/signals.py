from django.conf import settings
from django.db.models.signals import post_save
from django.dispatch import receiver

from .models import INBOX, TaskList


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def give_new_users_an_inbox(sender, instance, created, raw=False, **kwargs):
    # Every way a user is made (signup, createsuperuser, the admin) gets one;
    # loading fixtures (raw) brings its own rows.
    if created and not raw:
        TaskList.unscoped.create(user=instance, name=INBOX, is_inbox=True)
