from django.db.models.signals import m2m_changed, post_delete, post_migrate, post_save

from .knowledge import bump_revision
from .models import EvaluationItem, Rule, SourceDocument, Term

KNOWLEDGE_MODELS = (SourceDocument, Term, Rule, EvaluationItem)


def knowledge_changed(sender, **kwargs):
    bump_revision()


def connect(app_config):
    for model in KNOWLEDGE_MODELS:
        post_save.connect(knowledge_changed, sender=model, dispatch_uid=f"kb-save-{model.__name__}")
        post_delete.connect(knowledge_changed, sender=model, dispatch_uid=f"kb-delete-{model.__name__}")
    m2m_changed.connect(knowledge_changed, sender=Term.parents.through, dispatch_uid="kb-term-parents")
    post_migrate.connect(load_knowledge_if_empty, sender=app_config, dispatch_uid="kb-load-on-migrate")


def load_knowledge_if_empty(sender, using="default", **kwargs):
    """A new database gets the knowledge base with its tables; later edits are kept."""
    from django.core.management import call_command

    if not Rule.objects.using(using).exists():
        call_command("load_knowledge", verbosity=0, database=using)
