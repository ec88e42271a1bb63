"""Names people see for the inbox's codes (bokmål msgids, translated when shown)."""

from __future__ import annotations

from stemme.errors import N_

CATEGORY_LABELS: dict[str, str] = {
    "emergency": N_("Nødsituasjon"),
    "concern_for_child": N_("Bekymring for barn"),
    "crime_report": N_("Anmeldelse"),
    "tip": N_("Tips"),
    "question": N_("Spørsmål"),
    "feedback": N_("Tilbakemelding"),
    "other": N_("Annet"),
}
STATUS_LABELS: dict[str, str] = {
    "new": N_("Ny"),
    "open": N_("Åpen"),
    "waiting": N_("Venter på innbygger"),
    "closed": N_("Avsluttet"),
}
OUTCOME_LABELS: dict[str, str] = {
    "answered": N_("Besvart"),
    "referred_112": N_("Henvist til 112"),
    "referred_other": N_("Henvist videre (02800, barnevern o.l.)"),
    "report_advised": N_("Rådet til å anmelde"),
    "tip_forwarded": N_("Tips sendt videre"),
    "no_action": N_("Ingen oppfølging nødvendig"),
    "spam": N_("Søppel/test"),
}
CHANNEL_LABELS: dict[str, str] = {
    "messenger": "Messenger",
    "instagram": "Instagram",
    "webchat": N_("Nettprat"),
    "email": N_("E-post"),
}
KIND_LABELS: dict[str, str] = {
    "citizen": N_("Innbygger"),
    "feedback_answer": N_("Svar på tilbakemeldingsspørsmålet"),
    "reply": N_("Svar"),
    "emergency": N_("Automatisk svar: ring 112"),
    "out_of_hours": N_("Automatisk svar: utenfor åpningstid"),
    "feedback_question": N_("Tilbakemeldingsspørsmål"),
}
DELIVERY_LABELS: dict[str, str] = {
    "queued": N_("I kø"),
    "retrying": N_("Prøver igjen"),
    "sent": N_("Sendt"),
    "failed": N_("Ikke levert"),
}
LANGUAGE_LABELS: dict[str, str] = {
    "nb": N_("bokmål"),
    "nn": N_("nynorsk"),
    "sv": N_("svensk"),
    "da": N_("dansk"),
    "en": N_("engelsk"),
    "other": N_("annet språk"),
}
