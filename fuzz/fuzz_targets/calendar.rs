//! Any text as what a caller says of a day and time, and as a CalDAV server's answer (a
//! multistatus of iCalendar texts): no panic, and a day understood is a real day.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let today = jiff::civil::Date::new(2026, 12, 1).unwrap();
    if let Some(w) = parley_agent::when::understand(text, today, (10, 0)) {
        assert!(w.date >= today, "{text:?} is a day to come");
        let _ = w.spoken();
    }
    let _ = parley_connect::tools::caldav::parse_multistatus(text);
    let wrapped = format!("<multistatus xmlns=\"DAV:\" xmlns:C=\"urn:ietf:params:xml:ns:caldav\"><response><href>/a</href><C:calendar-data>{}</C:calendar-data></response></multistatus>", text.replace('&', "&amp;").replace('<', "&lt;"));
    let _ = parley_connect::tools::caldav::parse_multistatus(&wrapped);
});
