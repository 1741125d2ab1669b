"""Every value an unmodified Conpot (or T-Pot's image) serves, with where it comes from: one table.

Both audits read it: the live audit matches what a honeypot answers against it, the static audit
what a template directory would serve. Sources are the files of Conpot's own source tree
(``conpot/templates/...``, mushorg/conpot master) and the recorded answers of a running default
Conpot (../shared/reference/recorded-conpot-answers.md).

``weight`` is how strongly one sighting says "Conpot" (it feeds the score): a unique serial is
near-proof; a common word is weak. ``genuine`` marks a value real devices serve too (Siemens CPUs
do answer "Original Siemens Equipment"): it is reported for information, scores nothing, and a
persona may keep it, because changing it would make the persona less like the real device.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KnownDefault:
    value: str
    source: str  # the file (and element) of Conpot or T-Pot that holds it
    weight: int
    genuine: bool = False

    def seen_in(self, text: str) -> bool:
        """Whether ``text`` (one served value) carries this default.

        Long values are looked for inside the text (a page title embeds the description); short
        ones must be the whole value, so "Venus" does not match "Venusberg Pump Station".
        """
        served = text.strip().strip("\0").strip().casefold()
        wanted = self.value.casefold()
        if len(wanted) >= 8:
            return wanted in served
        return served == wanted


_T = "conpot/templates/"
KNOWN_DEFAULTS: tuple[KnownDefault, ...] = (
    # default/template.xml databus: served by S7 SZL 0x001C, SNMP, HTTP, BACnet, IPMI, FTP.
    KnownDefault("Technodrome", _T + "default/template.xml databus SystemName", 35),
    KnownDefault("Mouser Factory", _T + "default/template.xml databus FacilityName", 35),
    KnownDefault("Siemens, SIMATIC, S7-200", _T + "default/template.xml databus SystemDescription", 30),
    KnownDefault("88111222", _T + "default/template.xml databus s7_id (S7 serial)", 45),
    KnownDefault("IM151-8 PN/DP CPU", _T + "default/template.xml databus s7_module_type", 30),
    KnownDefault("CP 443-1 EX40", _T + "default/template.xml databus sysName", 30),
    KnownDefault("Venus", _T + "default/template.xml databus sysLocation", 30),
    KnownDefault("Siemens AG", _T + "default/template.xml databus sysContact", 10),
    KnownDefault("Original Siemens Equipment", _T + "default/template.xml databus Copyright", 0, genuine=True),
    # SNMP: default/snmp/snmp.xml maps no sysObjectID, so pysnmp answers its own enterprise (20408).
    KnownDefault("1.3.6.1.4.1.20408", _T + "default/snmp/snmp.xml (sysObjectID unmapped: pysnmp's default)", 20),
    KnownDefault("0.0", _T + "default/template.xml databus sysObjectID", 15),
    # Modbus: default/modbus/modbus.xml device_info.
    KnownDefault("SIMATIC", _T + "default/modbus/modbus.xml device_info ProductCode", 20),
    KnownDefault("S7-200", _T + "default/modbus/modbus.xml device_info MajorMinorRevision", 20),
    # BACnet: default/bacnet/bacnet.xml device_info.
    KnownDefault("Alerton Technologies, Inc.", _T + "default/bacnet/bacnet.xml device_info vendor_name", 20),
    KnownDefault("36113", _T + "default/bacnet/bacnet.xml device_info device_identifier", 40),
    KnownDefault("VAV-DD Controller", _T + "default/bacnet/bacnet.xml device_info model_name", 25),
    # EtherNet/IP: cpppo's built-in Identity object (conpot/protocols/enip/enip_server.py never passes
    # enip.xml's device_info on); enip.xml's own values are listed too for the static audit.
    KnownDefault("1756-L61/B LOGIX5561", "cpppo enip/device.py Identity Product Name; " + _T + "default/enip/enip.xml", 30),  # noqa: E501,
    KnownDefault("7079450", "cpppo enip/device.py Identity Serial Number; " + _T + "default/enip/enip.xml", 45),
    # FTP: default/ftp/ftp.xml.
    KnownDefault("FTP server ready.", _T + "default/ftp/ftp.xml device_info banner", 10),
    KnownDefault("Technodrome - Mouser Factory. Authorized personnel only", _T + "default/ftp/ftp.xml motd", 35),
    # HTTP: default/http/http.xml.
    KnownDefault("Tue, 19 May 1993 09:00:00 GMT", _T + "default/http/http.xml /index.html Last-Modified", 35),
    KnownDefault("Sat, 28 Apr 1984 07:30:00 GMT", _T + "default/http/http.xml global Date header", 35),
    # Other templates.
    KnownDefault("Compagnie Generale des Eaux", _T + "IEC104/template.xml databus FacilityName", 35),
    KnownDefault("CP 343-1 IT", _T + "IEC104/template.xml databus SystemName", 25),
    KnownDefault("Siemens, SIMATIC, S7-300", _T + "IEC104/template.xml databus SystemDescription", 20),
    KnownDefault("0x000e8c29c51a", _T + "IEC104/template.xml databus ifPhysAddress", 40),
    KnownDefault("163.172.189.137", _T + "IEC104/template.xml databus udpLocalAddress", 35),
    KnownDefault("STATOIL STATION", _T + "guardian_ast/template.xml databus station_name", 40),
    KnownDefault("kapserver.evilpowerprovider.org", _T + "kamstrup_382/template.xml kap_a_server_hostname", 45),
    KnownDefault("00:13:EA:00:00:00", _T + "kamstrup_382/template.xml databus mac_address", 40),
    KnownDefault("202.202.202.1", _T + "kamstrup_382/template.xml databus kap_a_server_ip", 35),
    KnownDefault("A1 06 A1 02 B7 34 12 00 00 03", _T + "kamstrup_382/template.xml channel_a_meternumber", 35),
    # IPMI: default/ipmi/ipmi.xml user_list (served to anyone who logs in).
    KnownDefault("OpPassword", _T + "default/ipmi/ipmi.xml user_list", 25),
    KnownDefault("U1Password", _T + "default/ipmi/ipmi.xml user_list", 25),
    # T-Pot's own replacements (dtagdevsec/conpot): a fingerprint of their own.
    KnownDefault("DoE Water Service", "T-Pot conpot image: default template FacilityName", 35),
    KnownDefault("Central Pump", "T-Pot conpot image: default template SystemName", 30),
    KnownDefault("Pump Control Unit", "T-Pot conpot image: default template", 25),
    KnownDefault("Corporate IT", "T-Pot conpot image: IEC104 template", 20),
    KnownDefault("DE-BER01", "T-Pot conpot image: IEC104 template", 25),
    KnownDefault("pwr_ctrl_mgmt01.int.local", "T-Pot conpot image: kamstrup_382 template", 40),
)  # fmt: skip


def defaults_in(text: str) -> list[KnownDefault]:
    """The known defaults one served value carries."""
    return [known for known in KNOWN_DEFAULTS if known.seen_in(text)]
