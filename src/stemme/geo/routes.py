"""JSON API for the geography lookups (open to every authenticated caller)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from stemme import geo
from stemme.identity.access import Principal
from stemme.web.deps import api_principal

router = APIRouter(prefix="/geo", tags=["geo"])

Caller = Annotated[Principal, Depends(api_principal)]


class KommuneOut(BaseModel):
    number: str
    name: str
    display_name: str
    sami_names: list[str]
    fylke: str
    district: str
    population: int


class PostcodeOut(BaseModel):
    postcode: str
    place: str
    kommune: KommuneOut


def _out(kommune: geo.Kommune) -> KommuneOut:
    return KommuneOut(
        number=kommune.number,
        name=kommune.name,
        display_name=kommune.display_name,
        sami_names=list(kommune.sami_names),
        fylke=kommune.fylke,
        district=kommune.district,
        population=kommune.population,
    )


@router.get("/districts", response_model=list[str])
def districts(_: Caller) -> list[str]:
    return list(geo.POLICE_DISTRICTS)


@router.get("/kommuner", response_model=list[KommuneOut])
def find_kommuner(_: Caller, name: str = "") -> list[KommuneOut]:
    found = geo.find_kommuner(name) if name else list(geo.all_kommuner())
    return [_out(k) for k in found]


@router.get("/kommuner/{number}", response_model=KommuneOut)
def kommune(_: Caller, number: str) -> KommuneOut:
    return _out(geo.kommune_by_number(number))


@router.get("/postcodes/{postcode}", response_model=PostcodeOut)
def postcode(_: Caller, postcode: str) -> PostcodeOut:
    kommune = geo.kommune_by_postcode(postcode)
    return PostcodeOut(
        postcode=postcode.strip(), place=geo.postcode_place(postcode), kommune=_out(kommune)
    )
