"""Which channels a patient's reminders go by, and where to: email, text message (SMS) or both.

Read by the services (the channel of a new row) and by delivery (the patient's choice when the
reminder goes, so a choice changed since the row was made still counts)."""

from mesoclinic.patients.models import ContactBy
from mesoclinic.patients.phones import PhoneNumberError, to_e164
from mesoclinic.treatment_sessions.models import ReminderChannel

CHANNELS = {
    ContactBy.EMAIL: [ReminderChannel.EMAIL],
    ContactBy.SMS: [ReminderChannel.SMS],
    ContactBy.BOTH: [ReminderChannel.EMAIL, ReminderChannel.SMS],
}


def channels_for(patient):
    """The channels the patient takes reminders by, email first. Every form and service save
    chooses (Patient.clean_contact_by); a record saved blank without one (a bulk import) takes
    email, as every record did before there was a choice."""
    return CHANNELS.get(patient.contact_by, CHANNELS[ContactBy.EMAIL])


def lead_channel(patient):
    """The channel of a reminder row the services make: the first the patient takes."""
    return channels_for(patient)[0]


def copy_key(lead_key, channel):
    """The key of the row that sends `lead_key`'s reminder by its second channel."""
    return f"{lead_key}+{channel}"


def sms_number(phone):
    """The number a text message goes to, in E.164 (+905321234567), or "" if there is none.
    Stored numbers are E.164 already (patients.phones); one stored before is read the same way."""
    try:
        return to_e164(phone)
    except PhoneNumberError:
        return ""


def address(patient, channel):
    """Where a reminder by `channel` goes: the email address or the E.164 number ("" if none)."""
    return sms_number(patient.phone) if channel == ReminderChannel.SMS else patient.email
