"""The after-stay survey: three short questions for everyone, a longer set for those who want it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from app.bookings.models import BookingStatus, SurveyResponse
from app.bookings.services.stays import guest_booking
from app.core import events
from app.core.errors import Conflict, Unprocessable
from app.extensions import db


@dataclass(frozen=True)
class Question:
    id: str
    kind: str  # score | nps | text
    text: dict[str, str]
    part: str  # short | long
    minimum: int | None = None
    maximum: int | None = None


QUESTIONS = (
    Question("overall", "score", {"en": "How was your stay overall?", "ru": "Как вам проживание в целом?"},
             "short", 1, 5),
    Question("recommend", "nps", {"en": "Would you recommend us to a friend?",
                                  "ru": "Порекомендуете ли вы нас друзьям?"}, "short", 0, 10),
    Question("comment", "text", {"en": "Anything we should know?", "ru": "Что нам стоит знать?"}, "short"),
    Question("cleanliness", "score", {"en": "Cleanliness of the room", "ru": "Чистота номера"}, "long", 1, 5),
    Question("staff", "score", {"en": "Friendliness of the staff", "ru": "Доброжелательность персонала"},
             "long", 1, 5),
    Question("breakfast", "score", {"en": "Breakfast and food", "ru": "Завтрак и питание"}, "long", 1, 5),
    Question("app", "score", {"en": "The app during your stay", "ru": "Приложение во время проживания"},
             "long", 1, 5),
)
_BY_ID = {question.id: question for question in QUESTIONS}
REQUIRED = ("overall", "recommend")


@dataclass
class Survey:
    booking_id: int
    questions: tuple[Question, ...]
    submitted: bool
    answers: dict[str, Any] | None


def guest_survey(*, guest_id: int, booking_id: int) -> Survey:
    """The questions, and the guest's answers if already given."""
    booking = guest_booking(guest_id=guest_id, booking_id=booking_id)
    response = db.session.scalar(select(SurveyResponse).where(SurveyResponse.booking_id == booking.id))
    return Survey(booking_id=booking.id, questions=QUESTIONS, submitted=response is not None,
                  answers=response.answers if response else None)


def submit_survey(*, guest_id: int, booking_id: int, answers: dict[str, Any]) -> Survey:
    """Answer once, after checkout; each answer checked against its question."""
    booking = guest_booking(guest_id=guest_id, booking_id=booking_id)
    if booking.status != BookingStatus.CHECKED_OUT:
        raise Conflict("The survey opens after checkout.", code="survey_not_open")
    if db.session.scalar(select(SurveyResponse.id).where(SurveyResponse.booking_id == booking.id)) is not None:
        raise Conflict("You have already answered this survey. Thank you!", code="survey_already_submitted")
    _validate(answers)
    db.session.add(SurveyResponse(booking_id=booking.id, hotel_id=booking.hotel_id, answers=answers))
    events.record("survey.submitted", hotel_id=booking.hotel_id, guest_id=guest_id, subject_id=booking.id,
                  payload={key: value for key, value in answers.items() if key != "comment"})
    return guest_survey(guest_id=guest_id, booking_id=booking_id)


def _validate(answers: dict[str, Any]) -> None:
    errors: dict[str, list[str]] = {}
    for key in REQUIRED:
        if key not in answers:
            errors[key] = ["Missing data for required field."]
    for key, value in answers.items():
        question = _BY_ID.get(key)
        if question is None:
            errors[key] = ["Unknown question."]
        elif question.kind == "text":
            if not isinstance(value, str) or len(value) > 2000:
                errors[key] = ["Up to 2000 characters of text."]
        elif not isinstance(value, int) or isinstance(value, bool) or not \
                question.minimum <= value <= question.maximum:
            errors[key] = [f"A whole number from {question.minimum} to {question.maximum}."]
    if errors:
        raise Unprocessable("Some answers are not valid.", code="validation_failed", errors=errors)
