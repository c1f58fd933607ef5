/*
  Benchmark rule set for tests/bench/yara_bench.sh: 56 rules in the style of what a provincial
  SOC publishes against remote-access tools, credential stealers, miners, webshells and Linux
  botnets. They mix plain, nocase, wide and fullword text, hex strings with jumps, wildcards and
  alternatives, bounded regular expressions, and conditions on offsets, counts, file size and
  header integers. Written for measuring scan speed: the planted samples of the benchmark match
  a few of them; they are not a production signature set.
*/

rule miner_xmrig_strings {
  meta: severity = "high" family = "xmrig"
  strings:
    $a = "stratum+tcp://" ascii
    $b = "stratum+ssl://" ascii
    $c = "--donate-level" ascii
    $d = "xmrig" ascii nocase fullword
    $e = "randomx" ascii nocase
  condition: 2 of them
}

rule miner_pool_config {
  meta: severity = "medium"
  strings:
    $pool = /"url"\s*:\s*"[a-z0-9.\-]{4,64}:(3333|4444|5555|7777|14444)"/
    $algo = "\"algo\": \"rx/0\""
    $cpu = "\"max-threads-hint\""
  condition: $pool and ($algo or $cpu) and filesize < 1MB
}

rule miner_hex_randomx_const {
  meta: severity = "high"
  strings:
    $h = { 52 61 6E 64 6F 6D 58 [0-8] 00 ?? ?? ?? ?? 41 72 67 6F 6E }
  condition: $h
}

rule webshell_php_eval_b64 {
  meta: severity = "critical" family = "webshell"
  strings:
    $php = "<?php" nocase
    $e1 = /eval\s*\(\s*base64_decode\s*\(/ nocase
    $e2 = /assert\s*\(\s*\$_(POST|GET|REQUEST)\[/ nocase
    $e3 = /preg_replace\s*\(\s*["'].{1,20}\/e["']/ nocase
  condition: $php and any of ($e*)
}

rule webshell_china_chopper {
  meta: severity = "critical"
  strings:
    $a = /<%@\s*Page\s+Language\s*=\s*"Jscript"\s*%>\s*<%\s*eval\(Request\.Item\[/ nocase
    $b = "<?php @eval($_POST[" nocase
  condition: any of them and filesize < 4KB
}

rule webshell_jsp_cmd {
  meta: severity = "critical"
  strings:
    $a = "Runtime.getRuntime().exec(request.getParameter(" ascii
    $b = "<%@ page import=\"java.io.*\" %>" ascii
  condition: $a and $b
}

rule linux_mirai_strings {
  meta: severity = "high" family = "mirai"
  strings:
    $a = "/bin/busybox MIRAI" ascii
    $b = "TSource Engine Query" ascii
    $c = "/dev/watchdog" ascii
    $d = "/dev/misc/watchdog" ascii
    $e = { 2F 62 69 6E 2F 62 75 73 79 62 6F 78 20 [4-12] 0A }
  condition: uint32(0) == 0x464c457f and 3 of them
}

rule linux_gafgyt_commands {
  meta: severity = "high"
  strings:
    $a = "PING" fullword
    $b = "GETLOCALIP" fullword
    $c = "SCANNER ON" nocase
    $d = "HTTPFLOOD" nocase
    $e = "UDPRAW" fullword
  condition: uint32(0) == 0x464c457f and 4 of them
}

rule linux_xorddos_hex {
  meta: severity = "high"
  strings:
    $h1 = { 42 42 32 46 41 33 36 41 41 41 39 35 34 31 46 30 }
    $h2 = { 8B 45 ?? 8B 55 ?? 0F B6 04 02 32 45 ?? 88 04 ?? }
  condition: uint32(0) == 0x464c457f and any of them
}

rule linux_rootkit_ld_preload {
  meta: severity = "critical"
  strings:
    $a = "/etc/ld.so.preload" ascii
    $b = "readdir64" ascii fullword
    $c = "hide_proc" ascii nocase
    $d = "__libc_dlsym" ascii
  condition: uint32(0) == 0x464c457f and $a and $c and ($b or $d)
}

rule linux_reverse_shell_script {
  meta: severity = "high"
  strings:
    $a = /bash\s+-i\s+>&\s*\/dev\/tcp\/[0-9.]{7,15}\/[0-9]{2,5}/
    $b = /nc(at)?\s+-e\s+\/bin\/(ba)?sh\s+[0-9.]{7,15}\s+[0-9]{2,5}/
    $c = /python[23]?\s+-c\s+['"]import\s+socket,subprocess,os/
  condition: any of them
}

rule linux_cron_persistence {
  meta: severity = "medium"
  strings:
    $a = /\*\/[0-9]+ \* \* \* \* .{0,40}(curl|wget) .{0,80}\|\s*(ba)?sh/
  condition: $a and filesize < 64KB
}

rule credstealer_browser_paths {
  meta: severity = "high" family = "stealer"
  strings:
    $a = "\\Google\\Chrome\\User Data\\Default\\Login Data" ascii wide
    $b = "\\Mozilla\\Firefox\\Profiles" ascii wide
    $c = "\\Microsoft\\Edge\\User Data" ascii wide
    $d = "logins.json" ascii wide
    $e = "key4.db" ascii wide
    $f = "wallet.dat" ascii wide
  condition: uint16(0) == 0x5a4d and 4 of them
}

rule credstealer_telegram_exfil {
  meta: severity = "high"
  strings:
    $a = /api\.telegram\.org\/bot[0-9]{8,10}:[A-Za-z0-9_\-]{35}\/send(Document|Message)/
  condition: $a
}

rule credstealer_redline_config {
  meta: severity = "high"
  strings:
    $a = "ScannedBrowser" wide
    $b = "BrowserExtension" wide
    $c = "ScanningArgs" wide
    $d = "GeoInfo" wide
  condition: uint16(0) == 0x5a4d and all of them
}

rule rat_anydesk_silent_install {
  meta: severity = "medium"
  strings:
    $a = "--install" ascii wide
    $b = "--silent" ascii wide
    $c = "--set-password" ascii wide
    $d = "AnyDesk" ascii wide nocase
  condition: all of them and filesize < 200KB
}

rule rat_njrat_markers {
  meta: severity = "critical" family = "njrat"
  strings:
    $a = "|'|'|" wide
    $b = "netsh firewall add allowedprogram" wide
    $c = "cmd.exe /c ping 0 -n 2 & del" wide
  condition: uint16(0) == 0x5a4d and 2 of them
}

rule rat_quasar_namespace {
  meta: severity = "critical"
  strings:
    $a = "Quasar.Common.Messages" ascii wide
    $b = "xClient.Core" ascii wide
    $c = { 51 00 75 00 61 00 73 00 61 00 72 00 [0-16] 43 00 6C 00 69 00 65 00 6E 00 74 00 }
  condition: any of them
}

rule rat_plugx_hex {
  meta: severity = "critical"
  strings:
    $h = { 55 8B EC 83 EC ?? 53 56 57 [2-6] 68 ?? ?? ?? ?? E8 ?? ?? ?? ?? 83 C4 04 85 C0 74 }
    $s = "PlugX" ascii wide
  condition: uint16(0) == 0x5a4d and $h and $s
}

rule rat_shadowpad_decrypt {
  meta: severity = "critical"
  strings:
    $h = { 8A 14 ?? 80 F2 ?? 88 14 ?? 41 3B C8 7C F2 }
  condition: uint16(0) == 0x5a4d and $h
}

rule cobaltstrike_beacon_config {
  meta: severity = "critical" family = "cobaltstrike"
  strings:
    $c1 = { 00 01 00 01 00 02 ?? ?? 00 02 00 01 00 02 ?? ?? 00 }
    $c2 = { 69 68 69 68 69 6B ?? ?? 69 6B 69 68 69 6B ?? ?? 69 }
    $c3 = { 2E 2F 2E 2F 2E 2C ?? ?? 2E 2C 2E 2F 2E 2C ?? ?? 2E }
  condition: any of them
}

rule cobaltstrike_pipe_names {
  meta: severity = "high"
  strings:
    $a = /\\\\\.\\pipe\\MSSE-[0-9]{1,5}-server/ ascii wide
    $b = /\\\\\.\\pipe\\postex_[0-9a-f]{4}/ ascii wide
    $c = /\\\\\.\\pipe\\status_[0-9a-f]{2}/ ascii wide
  condition: any of them
}

rule meterpreter_reverse_tcp {
  meta: severity = "critical"
  strings:
    $h = { FC E8 82 00 00 00 60 89 E5 31 C0 64 8B 50 30 8B 52 0C 8B 52 14 }
    $s = "metsrv.dll" ascii
  condition: any of them
}

rule powershell_download_cradle {
  meta: severity = "high"
  strings:
    $a = /IEX\s*\(\s*New-Object\s+Net\.WebClient\)\.DownloadString\(/ nocase
    $b = /Invoke-Expression\s*\(\s*\(New-Object\s+System\.Net\.WebClient\)/ nocase
    $c = /powershell(\.exe)?\s+-(e|en|enc|enco|encodedcommand)\s+[A-Za-z0-9+\/=]{40,}/ nocase
  condition: any of them
}

rule powershell_amsi_bypass {
  meta: severity = "high"
  strings:
    $a = "AmsiUtils" ascii wide nocase
    $b = "amsiInitFailed" ascii wide nocase
  condition: all of them
}

rule vbs_dropper {
  meta: severity = "high"
  strings:
    $a = "CreateObject(\"WScript.Shell\")" nocase
    $b = "CreateObject(\"MSXML2.XMLHTTP\")" nocase
    $c = "ADODB.Stream" nocase
    $d = ".SaveToFile" nocase
  condition: all of them and filesize < 100KB
}

rule office_macro_autoopen {
  meta: severity = "medium"
  strings:
    $a = "AutoOpen" nocase
    $b = "Document_Open" nocase
    $c = "Shell(" nocase
    $d = "WScript.Shell" nocase
    $ole = { D0 CF 11 E0 A1 B1 1A E1 }
  condition: $ole at 0 and ($a or $b) and ($c or $d)
}

rule hta_script {
  meta: severity = "high"
  strings:
    $a = "<HTA:APPLICATION" nocase
    $b = "<script language=\"VBScript\">" nocase
    $c = "ActiveXObject" nocase
  condition: $a and ($b or $c)
}

rule lnk_with_powershell {
  meta: severity = "high"
  strings:
    $p = "powershell" wide nocase
    $h = "-WindowStyle Hidden" wide nocase
  condition: uint32(0) == 0x0000004c and $p and $h
}

rule ransom_note_vn {
  meta: severity = "critical"
  strings:
    $a = "Tat ca du lieu cua ban da bi ma hoa" nocase
    $b = "Tất cả dữ liệu của bạn đã bị mã hóa" nocase
    $c = /bitcoin\s+(address|wallet)\s*:?\s*(bc1|[13])[a-zA-HJ-NP-Z0-9]{25,39}/ nocase
  condition: ($a or $b) or ($c and filesize < 20KB)
}

rule ransom_extension_list {
  meta: severity = "high"
  strings:
    $a = ".docx" wide
    $b = ".xlsx" wide
    $c = ".pdf" wide
    $d = "vssadmin delete shadows /all /quiet" ascii wide nocase
    $e = "wbadmin delete catalog" ascii wide nocase
  condition: uint16(0) == 0x5a4d and 3 of ($a,$b,$c) and ($d or $e)
}

rule ransom_lockbit_hex {
  meta: severity = "critical"
  strings:
    $h = { 66 83 F8 41 72 ?? 66 83 F8 5A 77 ?? [0-8] 66 83 C0 20 }
    $s = "LockBit" ascii wide
  condition: uint16(0) == 0x5a4d and all of them
}

rule packer_upx_modified {
  meta: severity = "low"
  strings:
    $u1 = "UPX0" ascii
    $u2 = "UPX1" ascii
    $u3 = "UPX!" ascii
  condition: (uint16(0) == 0x5a4d or uint32(0) == 0x464c457f) and ($u1 and $u2) and not $u3
}

rule packer_themida_marker {
  meta: severity = "low"
  strings:
    $a = ".themida" ascii
    $b = ".winlice" ascii
  condition: uint16(0) == 0x5a4d and any of them
}

rule tool_mimikatz {
  meta: severity = "critical"
  strings:
    $a = "sekurlsa::logonpasswords" ascii wide nocase
    $b = "privilege::debug" ascii wide nocase
    $c = "gentilkiwi" ascii wide
    $d = "mimikatz" ascii wide nocase fullword
  condition: 2 of them
}

rule tool_lazagne {
  meta: severity = "high"
  strings:
    $a = "lazagne" ascii nocase
    $b = "softwares.browsers" ascii
    $c = "softwares.wifi" ascii
  condition: 2 of them
}

rule tool_procdump_lsass {
  meta: severity = "high"
  strings:
    $a = /procdump(64)?(\.exe)?\s+-ma\s+lsass/ nocase
    $b = /comsvcs\.dll,\s*MiniDump\s+[0-9]{2,6}/ nocase
  condition: any of them
}

rule tool_psexec_service {
  meta: severity = "medium"
  strings:
    $a = "PSEXESVC" ascii wide
    $b = "\\\\.\\pipe\\psexecsvc" ascii wide nocase
  condition: uint16(0) == 0x5a4d and all of them
}

rule tool_chisel_tunnel {
  meta: severity = "high"
  strings:
    $a = "chisel-v3" ascii
    $b = "jpillora/chisel" ascii
    $c = "R:socks" ascii
  condition: 2 of them
}

rule tool_frp_client {
  meta: severity = "high"
  strings:
    $a = "frpc" ascii fullword
    $b = "fatedier/frp" ascii
    $c = "[common]\nserver_addr" ascii
  condition: $b or ($a and $c)
}

rule tool_ngrok {
  meta: severity = "medium"
  strings:
    $a = "ngrok.com" ascii
    $b = "authtoken" ascii
    $c = "tunnel.us.ngrok.com" ascii
  condition: $c or ($a and $b and filesize < 30MB and uint32(0) == 0x464c457f)
}

rule backdoor_ssh_authorized_keys_append {
  meta: severity = "high"
  strings:
    $a = /echo\s+["']?ssh-(rsa|ed25519)\s+AAAA[0-9A-Za-z+\/]{40,}[^\n]{0,120}>>\s*[^\n]{0,40}authorized_keys/
  condition: $a
}

rule backdoor_pam_module {
  meta: severity = "critical"
  strings:
    $a = "pam_sm_authenticate" ascii fullword
    $b = /\/tmp\/\.[a-z]{3,8}\.log/ ascii
    $c = "magic_pass" ascii nocase
  condition: uint32(0) == 0x464c457f and $a and ($b or $c)
}

rule backdoor_tsunami_irc {
  meta: severity = "high"
  strings:
    $a = "NOTICE %s :Killing pid" ascii
    $b = "PRIVMSG %s :" ascii
    $c = "TSUNAMI" ascii fullword
  condition: uint32(0) == 0x464c457f and 2 of them
}

rule exploit_dirtypipe_poc {
  meta: severity = "high"
  strings:
    $a = "splice" ascii fullword
    $b = "/etc/passwd" ascii
    $c = "PIPE_BUF_FLAG_CAN_MERGE" ascii
  condition: all of them
}

rule exploit_log4shell_string {
  meta: severity = "high"
  strings:
    $a = /\$\{jndi:(ldap|rmi|dns|ldaps):\/\/[^\n]{1,80}\}/ nocase
  condition: $a
}

rule phishing_gov_vn_lure {
  meta: severity = "medium"
  strings:
    $a = /https?:\/\/[a-z0-9\-]{3,30}\.(gov-vn|govvn|dichvucong-vn)\.[a-z]{2,6}\//
    $b = "Cong dich vu cong quoc gia" nocase
    $c = "password" nocase
  condition: $a or ($b and $c and filesize < 500KB)
}

rule dll_sideload_vn_software {
  meta: severity = "high"
  strings:
    $a = "BkavCore" ascii wide
    $b = "VNPT-CA" ascii wide
    $c = { 4D 5A 90 00 03 00 00 00 04 00 00 00 FF FF 00 00 }
    $exp = "DllRegisterServer" ascii
  condition: $c at 0 and ($a or $b) and $exp and filesize < 500KB
}

rule elf_static_go_implant {
  meta: severity = "low"
  strings:
    $go = "Go build ID:" ascii
    $a = "main.beacon" ascii
    $b = "main.exfil" ascii
  condition: uint32(0) == 0x464c457f and $go and any of ($a, $b)
}

rule python_pyinstaller_stealer {
  meta: severity = "medium"
  strings:
    $a = "PYZ-00.pyz" ascii
    $b = "browser_cookie3" ascii
    $c = "discord_webhook" ascii
  condition: $a and ($b or $c)
}

rule js_skimmer {
  meta: severity = "high"
  strings:
    $a = /atob\(["'][A-Za-z0-9+\/=]{60,}["']\)/
    $b = "onsubmit" nocase
    $c = /(cc_number|cardnumber|cvv)/ nocase
  condition: $a and $b and $c
}

rule suspicious_base64_pe_in_script {
  meta: severity = "medium"
  strings:
    $mz = "TVqQAAMAAAAEAAAA" ascii
    $ps = "FromBase64String" ascii nocase
  condition: $mz and $ps
}

rule suspicious_hex_encoded_elf {
  meta: severity = "medium"
  strings:
    $a = "7f454c46020101" ascii nocase
    $b = /\\x7f\\x45\\x4c\\x46/ ascii
  condition: any of them and filesize < 5MB
}

rule many_ip_literals {
  meta: severity = "info"
  strings:
    $ip = /[^0-9.]([0-9]{1,3}\.){3}[0-9]{1,3}:(4444|1337|31337|6667)[^0-9]/
  condition: #ip > 3
}

rule cg_planted_sample {
  meta: severity = "critical" family = "benchmark"
  strings:
    $m = "CG-BENCH-PLANTED-SAMPLE" ascii
    $h = { 43 47 2D 42 45 4E 43 48 [1-4] 50 4C 41 4E 54 }
  condition: $m or $h
}

rule cg_planted_large {
  meta: severity = "high" family = "benchmark"
  strings:
    $m = "CG-BENCH-LARGE-TAIL" ascii
  condition: $m in (filesize - 4096..filesize) and filesize > 50MB
}
