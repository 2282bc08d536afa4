"""Drives custody's web UI in Debian's headless Chromium through chromedriver
(Selenium, with the system browser and driver: nothing is downloaded).

Usage: ui.py LOGIN_URL TOKEN KEY OWNER_EMAIL CHAIN_KEY|SECRET_ARN SCREENSHOT_DIR

Prints one JSON object: what each page showed (for the Rust test's checks),
the text and HTML of every page rendered (grepped for planted secrets by the
caller), the accessibility problems found, and browser console errors.
"""

import json
import os
import shutil
import sys
import tempfile
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

login_url, token, key, owner, chain, shots = sys.argv[1:7]
# The key whose role chain reaches the restricted secret, and the secret.
chain_key, resource = chain.split("|", 1)
base = login_url.split("/ui/")[0]
os.makedirs(shots, exist_ok=True)

# A fresh browser profile, removed at the end.
profile = tempfile.mkdtemp(prefix="custody-chromium-")
opts = webdriver.ChromeOptions()
opts.binary_location = os.environ.get("CUSTODY_CHROMIUM", "/usr/bin/chromium")
for flag in [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1440,1000",
    "--user-data-dir=" + profile,
]:
    opts.add_argument(flag)
opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
driver = webdriver.Chrome(
    options=opts,
    service=Service(os.environ.get("CUSTODY_CHROMEDRIVER", "/usr/bin/chromedriver")),
)
wait = WebDriverWait(driver, 60)
out = {"pages": {}, "a11y": [], "console": [], "checks": {}}


def text_of(css):
    return driver.find_element(By.CSS_SELECTOR, css).text


def settle():
    """Waits until no panel says Loading…"""
    wait.until(lambda d: "Loading…" not in d.find_element(By.ID, "main").text)


def capture(name, full=False):
    settle()
    out["pages"][name] = {
        "url": driver.current_url,
        "text": driver.find_element(By.TAG_NAME, "body").text,
        "html": driver.page_source,
    }
    if full:
        # The whole page (up to 3,000 px), then back to the usual window.
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(1440, min(max(height, 1000), 3000))
        time.sleep(0.3)
    driver.save_screenshot(os.path.join(shots, name + ".png"))
    if full:
        driver.set_window_size(1440, 1000)
    audit(name)


def audit(page):
    """Accessibility: every control has a name, images have alt text,
    table headers have a scope, sortable headers are buttons."""
    problems = driver.execute_script(
        """
        const out = [];
        const named = (el) => {
          if (el.getAttribute('aria-label') || el.getAttribute('aria-labelledby')) return true;
          if (el.id && document.querySelector('label[for="' + CSS.escape(el.id) + '"]')) return true;
          if (el.closest('label')) return true;
          return false;
        };
        for (const el of document.querySelectorAll('input, select, textarea')) {
          if (el.type === 'hidden' || el.offsetParent === null) continue;
          if (!named(el)) out.push('unlabelled ' + el.tagName.toLowerCase() + ' ' + (el.name || el.id));
        }
        for (const el of document.querySelectorAll('button, a[href]')) {
          if (el.offsetParent === null) continue;
          if (!(el.textContent.trim() || el.getAttribute('aria-label') || el.getAttribute('title')))
            out.push('nameless ' + el.tagName.toLowerCase());
        }
        for (const el of document.querySelectorAll('img')) if (!el.hasAttribute('alt')) out.push('img without alt');
        for (const el of document.querySelectorAll('th')) if (!el.getAttribute('scope')) out.push('th without scope');
        for (const el of document.querySelectorAll('svg[role=img]')) if (!el.getAttribute('aria-label')) out.push('svg without label');
        if (!document.documentElement.lang) out.push('no lang');
        return out;
        """
    )
    for p in problems:
        out["a11y"].append(page + ": " + p)


def goto(fragment):
    driver.get(base + "/ui/" + fragment)


# 1. Sign in with the one-time link; the code leaves the address bar.
driver.get(login_url)
wait.until(EC.visibility_of_element_located((By.ID, "q")))
out["checks"]["url_after_login"] = driver.current_url
out["checks"]["cookie_http_only"] = all(
    c.get("httpOnly") for c in driver.get_cookies() if c["name"] == "custody_session"
)
out["checks"]["cookie_visible_to_script"] = driver.execute_script("return document.cookie")
capture("home")

# 2. Type-ahead: type the planted key, arrow down, Enter (keyboard only).
box = driver.find_element(By.ID, "q")
box.click()
box.send_keys(key[:10])
wait.until(lambda d: d.find_element(By.ID, "q").get_attribute("aria-expanded") == "true")
wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "#q-results [role=option]")))
out["checks"]["typeahead_groups"] = [
    g.text for g in driver.find_elements(By.CSS_SELECTOR, "#q-results .group")
]
out["checks"]["typeahead_first"] = driver.find_element(
    By.CSS_SELECTOR, "#q-results [role=option]"
).text
box.send_keys(Keys.ARROW_DOWN)
out["checks"]["active_descendant"] = box.get_attribute("aria-activedescendant")
driver.save_screenshot(os.path.join(shots, "search.png"))
box.send_keys(Keys.ENTER)
wait.until(lambda d: "#/identity/" in d.current_url)
wait.until(EC.presence_of_element_located((By.XPATH, "//h2[starts-with(., 'Where it lives')]")))
capture("identity", full=True)
out["checks"]["surfaces_heading"] = driver.find_element(
    By.XPATH, "//h2[starts-with(., 'Where it lives')]"
).text
owner_panel = driver.find_element(By.XPATH, "//section[.//h2[.='Owner']]")
out["checks"]["owner_panel"] = owner_panel.text

# 3. Paths, with the path to a restricted resource highlighted.
goto("#/paths/aws-access-key:" + chain_key + "?target=" + resource)
wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, ".graph svg")))
capture("paths")
out["checks"]["highlighted_edges"] = len(driver.find_elements(By.CSS_SELECTOR, ".graph path.edge.hl"))
out["checks"]["path_nodes"] = len(driver.find_elements(By.CSS_SELECTOR, ".graph g.node"))

# 4. Findings: sort by keyboard, then export the CSV (fetched as the
# browser's download link would).
goto("#/findings")
wait.until(EC.presence_of_element_located((By.ID, "export-csv")))
capture("findings")
sort = driver.find_element(By.XPATH, "//th[.//button[.='Rule']]//button")
sort.send_keys(Keys.ENTER)
wait.until(lambda d: "sort=rule" in d.current_url)
wait.until(EC.presence_of_element_located((By.XPATH, "//th[@aria-sort='ascending'][.//button[.='Rule']]")))
out["checks"]["sorted_by_keyboard"] = True
href = driver.find_element(By.ID, "export-csv").get_attribute("href")
out["checks"]["findings_csv"] = driver.execute_async_script(
    "const done = arguments[arguments.length - 1];"
    "fetch(arguments[0], {credentials: 'same-origin'}).then(r => r.text()).then(done, e => done('ERROR ' + e));",
    href,
)

# 5. Alerts.
goto("#/alerts?since=5y")
wait.until(EC.presence_of_element_located((By.XPATH, "//strong[contains(., 'alerts')]")))
capture("alerts")

# 6. People: the owner who left, routed to the manager.
goto("#/people/" + owner)
wait.until(EC.presence_of_element_located((By.XPATH, "//h2[contains(., 'identities across')]")))
capture("person")
goto("#/people")
capture("people")

# 7. Query: find a saved question by searching, run it with its parameter.
goto("#/query")
wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-question]")))
f = driver.find_element(By.ID, "saved-filter")
f.send_keys("credential live")
wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "[data-question]")) == 1)
driver.find_element(By.CSS_SELECTOR, "[data-question=surfaces]").click()
p = wait.until(EC.presence_of_element_located((By.ID, "param-credential")))
p.send_keys("aws-access-key:" + key)
driver.find_element(By.ID, "run").click()
wait.until(EC.presence_of_element_located((By.XPATH, "//strong[contains(., 'rows')]")))
out["checks"]["saved_rows"] = driver.find_element(By.XPATH, "//strong[contains(., 'rows')]").text
capture("query")

# 8. History: the diff of the last two snapshots.
goto("#/history?from=latest-2")
wait.until(EC.presence_of_element_located((By.XPATH, "//h2[.='What changed']")))
capture("history")
out["checks"]["history"] = driver.find_element(By.XPATH, "//section[.//h2[.='What changed']]").text

# 9. Sign out, and in again with the token on the login page.
driver.find_element(By.ID, "logout").click()
wait.until(EC.visibility_of_element_located((By.ID, "token")))
capture("login")
t = driver.find_element(By.ID, "token")
t.send_keys(token)
t.send_keys(Keys.ENTER)
wait.until(EC.visibility_of_element_located((By.ID, "q")))
out["checks"]["token_login"] = True

out["console"] = [
    e["message"] for e in driver.get_log("browser") if e.get("level") in ("SEVERE",)
]
driver.quit()
shutil.rmtree(profile, ignore_errors=True)
print(json.dumps(out))
