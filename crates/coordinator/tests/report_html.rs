//! report.html in a real browser (headless Chromium from the distribution's packages): the page
//! a run writes loads with no error and no fetched resource, and every chart in it has drawn.
//!
//! The page is loaded as written, with two scripts added around it: one first, collecting
//! errors (uncaught exceptions and resources that failed to load), one last that, once the page
//! has loaded, opens every folded section and measures each chart as the browser laid it out
//! (`getBBox` of every mark in its SVG) and lists every resource the page fetched. The browser's own log is read for console messages. A deliberately broken page
//! shows that the check catches each kind of fault.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{collbench, need_program, runnable, stderr, tempdir};

/// The browser: the distribution's headless shell, or its full Chromium in headless mode.
fn browser() -> Option<(PathBuf, Vec<&'static str>)> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let find = |name: &str| {
        std::env::split_paths(&path)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    };
    find("chromium-headless-shell")
        .map(|p| (p, vec![]))
        .or_else(|| find("chromium").map(|p| (p, vec!["--headless"])))
}

const FIRST: &str = "<script>window.__errors = [];\
window.addEventListener('error', e => window.__errors.push(String(e.message || \
(e.target && (e.target.src || e.target.href)) || 'error')), true);</script>";

const LAST: &str = "<script>window.addEventListener('load', () => {\
document.querySelectorAll('details').forEach(d => d.open = true);\
const figures = [...document.querySelectorAll('figure.chart')].map(f => {\
  const svg = f.querySelector('svg');\
  if (!svg) return {id: f.id, width: 0, height: 0, marks: 0};\
  const box = svg.getBoundingClientRect();\
  const marks = [...svg.querySelectorAll('polyline, path, rect, circle, line')]\
    .filter(e => { const b = e.getBBox(); return b.width > 0 || b.height > 0; }).length;\
  return {id: f.id, width: box.width, height: box.height, marks};\
});\
const out = document.createElement('pre');\
out.id = 'collbench-check';\
out.textContent = JSON.stringify({figures,\
  resources: performance.getEntriesByType('resource').map(r => r.name),\
  errors: window.__errors});\
document.body.appendChild(out);\
});</script>";

/// What the browser saw of a page.
#[derive(Debug)]
struct Seen {
    /// (figure id, laid-out width, height, marks drawn with a non-empty box).
    figures: Vec<(String, f64, f64, u64)>,
    resources: Vec<String>,
    errors: Vec<String>,
    console: Vec<String>,
}

/// Loads `page` (an HTML file) in the browser with the check scripts added.
fn load(page: &Path, work: &Path) -> Seen {
    let (exe, extra) = browser().expect("browser");
    let html = std::fs::read_to_string(page).unwrap();
    let checked = html
        .replacen("<head>", &format!("<head>{FIRST}"), 1)
        .replacen("</body>", &format!("{LAST}</body>"), 1);
    assert!(
        checked.contains(FIRST) && checked.contains(LAST),
        "page has a head and a body"
    );
    let file = work.join("checked.html");
    std::fs::write(&file, checked).unwrap();
    let profile = work.join("profile");
    let mut child = Command::new(exe)
        .args(extra)
        .args([
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1200,900",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("file://{}", file.display()))
        .stdout(std::fs::File::create(work.join("dom.html")).unwrap())
        .stderr(std::fs::File::create(work.join("browser.log")).unwrap())
        .spawn()
        .expect("browser starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the browser did not finish loading {} in 60 s",
                page.display()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let dom = std::fs::read_to_string(work.join("dom.html")).unwrap();
    let log = std::fs::read_to_string(work.join("browser.log")).unwrap();
    let console = log
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_string)
        .collect();
    let start = dom
        .find("<pre id=\"collbench-check\">")
        .unwrap_or_else(|| panic!("the check script did not run; DOM:\n{dom}\nlog:\n{log}"));
    let text = &dom[start..];
    let text = &text[text.find('>').unwrap() + 1..text.find("</pre>").unwrap()];
    let text = text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    let v: serde_json::Value = serde_json::from_str(&text).expect("check JSON");
    let strings = |key: &str| -> Vec<String> {
        v[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap_or_default().to_string())
            .collect()
    };
    Seen {
        figures: v["figures"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["id"].as_str().unwrap_or_default().to_string(),
                    f["width"].as_f64().unwrap_or(0.0),
                    f["height"].as_f64().unwrap_or(0.0),
                    f["marks"].as_u64().unwrap_or(0),
                )
            })
            .collect(),
        resources: strings("resources"),
        errors: strings("errors"),
        console,
    }
}

fn browser_missing() -> Vec<String> {
    match browser() {
        Some(_) => Vec::new(),
        None => need_program("chromium-headless-shell", "chromium-headless-shell")
            .into_iter()
            .collect(),
    }
}

#[test]
fn the_check_catches_errors_fetched_resources_console_output_and_empty_charts() {
    if !runnable("browser check", &browser_missing()) {
        return;
    }
    let dir = tempdir("html-broken");
    std::fs::create_dir_all(&dir).unwrap();
    let page = dir.join("broken.html");
    std::fs::write(
        &page,
        "<!DOCTYPE html><html><head><title>x</title></head><body>\
         <img src=\"http://127.0.0.1:9/missing.png\">\
         <figure class=\"chart\" id=\"empty\"><svg width=\"100\" height=\"50\"></svg></figure>\
         <figure class=\"chart\" id=\"drawn\"><svg width=\"100\" height=\"50\">\
         <rect width=\"10\" height=\"10\" fill=\"red\"/></svg></figure>\
         <script>console.error('boom'); undefined_function();</script></body></html>",
    )
    .unwrap();
    let seen = load(&page, &dir);
    assert!(
        seen.console.iter().any(|l| l.contains("boom")),
        "console output is seen: {seen:?}"
    );
    assert!(
        seen.errors.iter().any(|e| e.contains("undefined_function")),
        "an uncaught error is seen: {seen:?}"
    );
    assert!(
        seen.resources.iter().any(|r| r.contains("missing.png"))
            || seen.errors.iter().any(|e| e.contains("missing.png")),
        "a fetched resource is seen: {seen:?}"
    );
    let marks = |id: &str| seen.figures.iter().find(|f| f.0 == id).map(|f| f.3);
    assert_eq!(marks("empty"), Some(0), "{seen:?}");
    assert_eq!(marks("drawn"), Some(1), "{seen:?}");
}

#[test]
fn a_runs_report_loads_with_no_error_and_every_chart_drawn() {
    if !runnable("report.html in a browser", &browser_missing()) {
        return;
    }
    let dir = tempdir("html-report");
    let out = collbench()
        .args([
            "run", "--np", "3", "-b", "1K", "-e", "64K", "-f", "4", "-n", "6", "-w", "1",
        ])
        .args(["--algo", "ring,tree", "--pingpong", "--out"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let page = dir.join("report.html");
    let html = std::fs::read_to_string(&page).unwrap();
    for external in ["src=\"http", "href=\"http", "src=\"//", "@import", "<link"] {
        assert!(
            !html.contains(external),
            "the page refers outside itself: {external}"
        );
    }
    let seen = load(&page, &dir);
    assert!(
        seen.console.is_empty(),
        "console output: {:?}",
        seen.console
    );
    assert!(seen.errors.is_empty(), "errors: {:?}", seen.errors);
    assert!(
        seen.resources.is_empty(),
        "fetched resources: {:?}",
        seen.resources
    );
    // busbw and time against size, and a heatmap for every algorithm and size: 2 x 4 sizes.
    let ids: Vec<&str> = seen.figures.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(ids.len(), 2 + 2 * 4, "{ids:?}");
    assert_eq!(&ids[..2], ["busbw", "time"]);
    for algo in ["ring", "tree"] {
        for size in [1024, 4096, 16384, 65536] {
            let id = format!("ranks-{algo}-{size}");
            assert!(ids.contains(&id.as_str()), "no heatmap {id}: {ids:?}");
        }
    }
    for (id, width, height, marks) in &seen.figures {
        assert!(
            *width > 300.0 && *height > 100.0,
            "{id} laid out {width}x{height}"
        );
        if id.starts_with("ranks-") {
            // Every rank's every timed iteration is a cell: 3 ranks x 6 iterations.
            assert!(*marks >= 18, "{id}: {marks} marks");
        } else {
            // Axes, grid, and two lines (out of place, in place) per algorithm.
            assert!(*marks >= 8, "{id}: {marks} marks");
        }
    }
}
