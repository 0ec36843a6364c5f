"""Transactional pushes: which domain events notify the guest, in which category, with which localised texts.

Event names are API-MAP's vocabulary. Two are not in it yet and are named here for the domains that will record
them: `room.ready` (housekeeping finished preparing the guest's room) and `message.created` with payload
{"author_kind": "staff"} (a reply in the stay's conversation; the guest's own messages notify nobody).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.push.models import Category


@dataclass(frozen=True)
class Template:
    category: Category
    title: dict[str, str]
    body: dict[str, str]
    deep_link: str  # formatted with the event's subject_id (or the payload's `link_key` when set)
    link_key: str | None = None

    def link_for(self, subject_id: int | None, payload: dict[str, Any] | None = None) -> str:
        if self.link_key is not None:
            subject_id = (payload or {}).get(self.link_key)
        return self.deep_link.format(subject_id=subject_id or "")


def _request(title_en: str, title_ru: str, body_en: str, body_ru: str) -> Template:
    return Template(Category.REQUEST, {"en": title_en, "ru": title_ru}, {"en": body_en, "ru": body_ru},
                    "app://requests/{subject_id}")


EVENT_TEMPLATES: dict[str, Template] = {
    "booking.created": Template(
        Category.BOOKING, {"en": "Booking confirmed", "ru": "Бронирование подтверждено"},
        {"en": "Your booking is confirmed. We look forward to welcoming you.",
         "ru": "Ваше бронирование подтверждено. Ждём вас!"}, "app://bookings/{subject_id}"),
    "booking.cancelled": Template(
        Category.BOOKING, {"en": "Booking cancelled", "ru": "Бронирование отменено"},
        {"en": "Your booking has been cancelled.", "ru": "Ваше бронирование отменено."},
        "app://bookings/{subject_id}"),
    "booking.no_show": Template(
        Category.BOOKING, {"en": "We missed you", "ru": "Мы вас не дождались"},
        {"en": "You did not arrive, so your booking has been closed under its terms. See the details in the app.",
         "ru": "Вы не приехали, и бронирование закрыто по его условиям. Подробности в приложении."},
        "app://bookings/{subject_id}"),
    "experience_booking.confirmed": Template(
        Category.BOOKING, {"en": "Excursion confirmed", "ru": "Экскурсия подтверждена"},
        {"en": "The organiser has confirmed your booking. Show your voucher on the day.",
         "ru": "Организатор подтвердил бронирование. Покажите ваучер в день экскурсии."},
        "app://experience-bookings/{subject_id}"),
    "experience_booking.declined": Template(
        Category.BOOKING, {"en": "Excursion not available", "ru": "Экскурсия недоступна"},
        {"en": "The organiser could not take your booking; any room charge has been credited back.",
         "ru": "Организатор не смог принять бронирование; начисление на номер отменено."},
        "app://experience-bookings/{subject_id}"),
    "request.acknowledged": _request("Request received", "Заявка принята",
                                     "The team has your request.", "Команда получила вашу заявку."),
    "request.started": _request("On our way", "Уже занимаемся",
                                "Your request is in progress.", "Ваша заявка выполняется."),
    "request.held": _request("Request on hold", "Заявка отложена",
                             "Your request is on hold for a moment.", "Ваша заявка ненадолго отложена."),
    "request.completed": _request("Request done", "Заявка выполнена",
                                  "Your request has been completed.", "Ваша заявка выполнена."),
    "request.rejected": _request("Request declined", "Заявка отклонена",
                                 "Sorry, we could not take your request.", "К сожалению, мы не смогли принять заявку."),
    "request.cancelled": _request("Request cancelled", "Заявка отменена",
                                  "Your request was cancelled.", "Ваша заявка отменена."),
    "room.ready": Template(
        Category.STAY, {"en": "Your room is ready", "ru": "Ваш номер готов"},
        {"en": "Welcome! Your room is ready for you.", "ru": "Добро пожаловать! Ваш номер готов."},
        "app://stays/{subject_id}"),
    "message.created": Template(
        Category.CHAT, {"en": "New message from the front desk", "ru": "Новое сообщение от ресепшн"},
        {"en": "The front desk has replied.", "ru": "Ресепшн ответил вам."}, "app://stays/{subject_id}/messages",
        link_key="booking_id"),  # the event's subject is the message; the link opens the stay's thread
}

CHECKOUT_REMINDER = Template(
    Category.STAY, {"en": "Check-out today", "ru": "Сегодня выезд"},
    {"en": "Check-out is today. Review your bill and check out in the app.",
     "ru": "Сегодня день выезда. Проверьте счёт и выпишитесь в приложении."}, "app://stays/{subject_id}/folio")


def template_for(event_type: str, payload: dict[str, Any]) -> Template | None:
    """The template an event notifies with, or None when it notifies nobody."""
    if event_type == "message.created" and payload.get("author_kind") != "staff":
        return None
    return EVENT_TEMPLATES.get(event_type)
