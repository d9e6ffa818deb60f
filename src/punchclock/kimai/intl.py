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

# Source: kimai/kimai config/locales.php (every key): the choices of a user's ``locale`` (formats of
# dates and numbers), = LocaleService::getAllLocales.
LOCALES: Final[frozenset[str]] = frozenset(
    _codes(
        "ar bg ca cs cs_CZ da da_DK da_GL de de_AT de_BE de_CH de_DE de_IT de_LI de_LU el el_CY el_GR en "
        "en_AE en_AG en_AI en_AS en_AT en_AU en_BB en_BE en_BI en_BM en_BS en_BW en_BZ en_CA en_CC en_CH "
        "en_CK en_CM en_CX en_CY en_CZ en_DE en_DK en_DM en_EE en_ER en_ES en_FI en_FJ en_FK en_FM en_FR "
        "en_GB en_GD en_GE en_GG en_GH en_GI en_GM en_GS en_GU en_GY en_HK en_HU en_ID en_IE en_IL en_IM "
        "en_IN en_IO en_IT en_JE en_JM en_JP en_KE en_KI en_KN en_KY en_LC en_LR en_LS en_LT en_LV en_MG "
        "en_MH en_MO en_MP en_MS en_MT en_MU en_MV en_MW en_MY en_NA en_NF en_NG en_NL en_NO en_NR en_NU "
        "en_NZ en_PG en_PH en_PK en_PL en_PN en_PR en_PT en_PW en_RO en_RW en_SB en_SC en_SD en_SE en_SG "
        "en_SH en_SI en_SK en_SL en_SS en_SX en_SZ en_TC en_TK en_TO en_TT en_TV en_TZ en_UA en_UG en_UM "
        "en_US en_VC en_VG en_VI en_VU en_WS en_ZA en_ZM en_ZW eo es es_AR es_BO es_BR es_BZ es_CL es_CO "
        "es_CR es_CU es_DO es_EC es_ES es_GQ es_GT es_HN es_MX es_NI es_PA es_PE es_PH es_PR es_PY es_SV "
        "es_US es_UY es_VE eu eu_ES fa fa_AF fa_IR fi fi_FI fo fo_DK fo_FO fr fr_BE fr_BF fr_BI fr_BJ "
        "fr_BL fr_CA fr_CD fr_CF fr_CG fr_CH fr_CI fr_CM fr_DJ fr_DZ fr_FR fr_GA fr_GF fr_GN fr_GP fr_GQ "
        "fr_HT fr_KM fr_LU fr_MA fr_MC fr_MF fr_MG fr_ML fr_MQ fr_MR fr_MU fr_NC fr_NE fr_PF fr_PM fr_RE "
        "fr_RW fr_SC fr_SN fr_SY fr_TD fr_TG fr_TN fr_VU fr_WF fr_YT he he_IL hr hr_BA hr_HR hu hu_HU id "
        "it it_CH it_IT it_SM it_VA ja ja_JP ko ko_CN ko_KP ko_KR nb_NO nl nl_AW nl_BE nl_BQ nl_CW nl_NL "
        "nl_SR nl_SX pa pl pl_PL pt pt_AO pt_BR pt_CH pt_CV pt_GQ pt_GW pt_LU pt_MO pt_MZ pt_PT pt_ST "
        "pt_TL ro ro_MD ro_RO ru ru_BY ru_KG ru_KZ ru_MD ru_RU ru_UA sk sk_SK sl sr sv sv_AX sv_FI sv_SE "
        "ta tr tr_CY tr_TR uk uk_UA vi vi_VN zh_CN zh_Hant zh_Hant_TW"
    )
)
