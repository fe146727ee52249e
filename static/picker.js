/*
 * Searchable picker for a <select multiple data-picker> (the destinations of 因私出国（境）).
 *
 * Without JavaScript the select itself is the form field. With it, the select is hidden but stays
 * in the form as the one source of truth: typing 日 or JP lists matching options, tapping one
 * selects it in the select and shows it as a removable chip. Texts come from data-picker-*
 * attributes, so they are translated with the page. Loaded with <script src defer>: no inline
 * script or handler attributes (the Content-Security-Policy allows scripts from 'self' only).
 */
(function () {
  "use strict";

  var MAX_RESULTS = 8;

  function make(tag, className, text) {
    var el = document.createElement(tag);
    if (className) el.className = className;
    if (text) el.textContent = text;
    return el;
  }

  /* Lower rank = better: the exact code, a name that starts with the query, a code that starts
     with it, then a name that contains it. */
  function rank(option, query) {
    var code = option.value.toLowerCase();
    var name = option.text.toLowerCase();
    if (code === query) return 0;
    if (name.indexOf(query) === 0) return 1;
    if (code.indexOf(query) === 0) return 2;
    if (name.indexOf(query) > 0) return 3;
    return -1;
  }

  function enhance(select) {
    var id = select.id;
    var data = select.dataset;
    var options = Array.prototype.slice.call(select.options);
    var active = -1;
    var shown = [];

    var picker = make("div", "picker");
    var chips = make("ul", "picker-chips");
    chips.setAttribute("aria-live", "polite");
    var input = make("input", "picker-input");
    input.type = "search";
    input.id = id + "-search";
    input.placeholder = data.pickerPlaceholder || "";
    input.autocomplete = "off";
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", id + "-results");
    input.setAttribute("enterkeyhint", "done");
    var results = make("ul", "picker-results");
    results.id = id + "-results";
    results.setAttribute("role", "listbox");
    results.hidden = true;
    picker.appendChild(chips);
    picker.appendChild(input);
    picker.appendChild(results);

    select.hidden = true;
    select.parentNode.insertBefore(picker, select);
    var label = document.querySelector('label[for="' + id + '"]');
    if (label) label.htmlFor = input.id;
    var help = select.parentNode.querySelector(".picker-nojs");
    if (help) help.hidden = true;

    function renderChips() {
      chips.textContent = "";
      options.forEach(function (option) {
        if (!option.selected) return;
        var chip = make("li", "picker-chip");
        chip.appendChild(make("span", "", option.text));
        var remove = make("button", "picker-remove", "×");
        remove.type = "button";
        remove.setAttribute("aria-label", (data.pickerRemove || "") + " " + option.text);
        remove.addEventListener("click", function () {
          option.selected = false;
          renderChips();
          input.focus();
        });
        chip.appendChild(remove);
        chips.appendChild(chip);
      });
    }

    function close() {
      results.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(index, scroll) {
      var items = results.querySelectorAll(".picker-option");
      if (!items.length) return;
      active = (index + items.length) % items.length;
      Array.prototype.forEach.call(items, function (item, i) {
        item.setAttribute("aria-selected", i === active ? "true" : "false");
      });
      input.setAttribute("aria-activedescendant", items[active].id);
      if (scroll) items[active].scrollIntoView({ block: "nearest" });
    }

    function pick(option) {
      option.selected = true;
      input.value = "";
      close();
      renderChips();
      input.focus();
    }

    function search() {
      var query = input.value.trim().toLowerCase();
      results.textContent = "";
      active = -1;
      if (!query) {
        close();
        return;
      }
      shown = options
        .filter(function (option) { return !option.selected && rank(option, query) >= 0; })
        .sort(function (a, b) { return rank(a, query) - rank(b, query); })
        .slice(0, MAX_RESULTS);
      if (!shown.length) {
        results.appendChild(make("li", "picker-empty", data.pickerEmpty || ""));
      }
      shown.forEach(function (option, i) {
        var item = make("li", "picker-option");
        item.id = id + "-option-" + option.value;
        item.setAttribute("role", "option");
        item.setAttribute("aria-selected", "false");
        item.appendChild(make("span", "picker-name", option.text));
        item.appendChild(make("span", "picker-code", option.value));
        item.addEventListener("click", function () { pick(option); });
        results.appendChild(item);
      });
      results.hidden = false;
      input.setAttribute("aria-expanded", "true");
      if (shown.length) highlight(0, false);
      /* on a phone the list opens near the keyboard: bring all of it into view */
      results.scrollIntoView({ block: "nearest" });
    }

    input.addEventListener("input", search);
    input.addEventListener("focus", function () { if (input.value.trim()) search(); });
    input.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        if (results.hidden) search();
        highlight(active + (event.key === "ArrowDown" ? 1 : -1), true);
      } else if (event.key === "Enter") {
        if (!results.hidden) {
          event.preventDefault(); /* Enter picks; it never submits the form from here */
          if (active >= 0 && shown[active]) pick(shown[active]);
        }
      } else if (event.key === "Escape") {
        close();
      } else if (event.key === "Backspace" && !input.value) {
        var chosen = options.filter(function (option) { return option.selected; });
        if (chosen.length) {
          chosen[chosen.length - 1].selected = false;
          renderChips();
        }
      }
    });
    /* a tap on a result must not blur the input first (that would close the list under the finger) */
    results.addEventListener("mousedown", function (event) { event.preventDefault(); });
    input.addEventListener("blur", close);
    select.form && select.form.addEventListener("reset", function () {
      window.setTimeout(renderChips, 0);
    });

    renderChips();
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("select[multiple][data-picker]"), enhance);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
