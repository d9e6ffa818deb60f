"""Code lists accepted by Kimai's customer/user forms (facts from Symfony Intl and Kimai's configuration)."""

from __future__ import annotations

from typing import Final


def _codes(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# Source: symfony/intl 6.4 Resources/data/regions/meta.php 'Regions' (Countries::getCountryCodes), 249 codes
COUNTRIES: Final[frozenset[str]] = frozenset(
    _codes(
        "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI "
        "BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN "
        "CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK "
        "FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM "
        "HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN "
        "KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK "
        "ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP "
        "NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW "
        "SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF "
        "TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI "
        "VN VU WF WS YE YT ZA ZM ZW"
    )
)

# Source: symfony/intl Resources/data/currencies/meta.php 'Currencies' (Currencies::getCurrencyCodes), ICU 76+
CURRENCIES: Final[frozenset[str]] = frozenset(
    _codes(
        "ADP AED AFA AFN ALK ALL AMD ANG AOA AOK AON AOR ARA ARL ARM ARP ARS ATS AUD AWG AZM AZN BAD BAM "
        "BAN BBD BDT BEC BEF BEL BGL BGM BGN BGO BHD BIF BMD BND BOB BOL BOP BOV BRB BRC BRE BRL BRN BRR "
        "BRZ BSD BTN BUK BWP BYB BYN BYR BZD CAD CDF CHE CHF CHW CLE CLF CLP CNH CNX CNY COP COU CRC CSD "
        "CSK CUC CUP CVE CYP CZK DDM DEM DJF DKK DOP DZD ECS ECV EEK EGP ERN ESA ESB ESP ETB EUR FIM FJD "
        "FKP FRF GBP GEK GEL GHC GHS GIP GMD GNF GNS GQE GRD GTQ GWE GWP GYD HKD HNL HRD HRK HTG HUF IDR "
        "IEP ILP ILR ILS INR IQD IRR ISJ ISK ITL JMD JOD JPY KES KGS KHR KMF KPW KRH KRO KRW KWD KYD KZT "
        "LAK LBP LKR LRD LSL LTL LTT LUC LUF LUL LVL LVR LYD MAD MAF MCF MDC MDL MGA MGF MKD MKN MLF MMK "
        "MNT MOP MRO MRU MTL MTP MUR MVP MVR MWK MXN MXP MXV MYR MZE MZM MZN NAD NGN NIC NIO NLG NOK NPR "
        "NZD OMR PAB PEI PEN PES PGK PHP PKR PLN PLZ PTE PYG QAR RHD ROL RON RSD RUB RUR RWF SAR SBD SCR "
        "SDD SDG SDP SEK SGD SHP SIT SKK SLE SLL SOS SRD SRG SSP STD STN SUR SVC SYP SZL THB TJR TJS TMM "
        "TMT TND TOP TPE TRL TRY TTD TWD TZS UAH UAK UGS UGX USD USN USS UYI UYP UYU UYW UZS VEB VED VEF "
        "VES VND VNN VUV WST XAF XCD XCG XEU XFO XFU XOF XPF XRE YDD YER YUD YUM YUN YUR ZAL ZAR ZMK ZMW "
        "ZRN ZRZ ZWD ZWG ZWL ZWR"
    )
)

# Source: kimai/kimai config/services.yaml kimai_locales with `translation: true` in config/locales.php.
# = UserLanguageType choices (LocaleService::getTranslatedLocales), in kimai.languages (ksort) order.
LANGUAGES: Final[tuple[str, ...]] = _codes(
    "ar bg ca cs da de de_CH el en eo es eu fa fi fo fr he hr hu id it ja "
    "ko nb_NO nl pa pl pt pt_BR ro ru sk sl sr sv ta tr uk vi zh_CN zh_Hant zh_Hant_TW"
)
