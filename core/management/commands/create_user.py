from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from core.models import User
from core.services import user_create


class Command(BaseCommand):
    help = "Create a user with a role and print its API token."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=User.Role.values)
        parser.add_argument("--password", help="Leave out for an API-only account.")

    def handle(self, *args, username, role, password, **options):
        try:
            user, token = user_create(username=username, role=role, password=password)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages))
        self.stdout.write(f"Created {user.role} {user.username} (pseudonym {user.pseudonym}).")
        self.stdout.write(f"API token: {token.key}")
