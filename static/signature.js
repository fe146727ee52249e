/*
 * Handwritten signature on a phone or with a mouse: a <canvas> inside [data-signature] records
 * the strokes (pointer events, so a finger, a pen or a mouse), and on submit its PNG goes into the
 * hidden input "signature" as a data URL — unless nothing was drawn. Loaded with <script src defer>
 * (the Content-Security-Policy allows scripts from 'self' only).
 */
(function () {
  "use strict";

  function setup(pad) {
    var canvas = pad.querySelector("canvas");
    var input = pad.querySelector("input[name=signature]");
    var ctx = canvas.getContext("2d");
    var drawing = false;
    var drawn = false;
    ctx.lineWidth = 4;
    ctx.lineCap = "round";
    ctx.strokeStyle = "#111";

    function point(event) {
      var box = canvas.getBoundingClientRect();
      return [(event.clientX - box.left) * canvas.width / box.width,
              (event.clientY - box.top) * canvas.height / box.height];
    }
    canvas.addEventListener("pointerdown", function (event) {
      drawing = true;
      canvas.setPointerCapture(event.pointerId);
      var p = point(event);
      ctx.beginPath();
      ctx.moveTo(p[0], p[1]);
      event.preventDefault();
    });
    canvas.addEventListener("pointermove", function (event) {
      if (!drawing) return;
      var p = point(event);
      ctx.lineTo(p[0], p[1]);
      ctx.stroke();
      drawn = true;
      event.preventDefault();
    });
    ["pointerup", "pointercancel", "pointerleave"].forEach(function (name) {
      canvas.addEventListener(name, function () { drawing = false; });
    });
    var clear = pad.querySelector("[data-signature-clear]");
    if (clear) {
      clear.addEventListener("click", function () {
        ctx.clearRect(0, 0, canvas.width, canvas.height);
        drawn = false;
        input.value = "";
      });
    }
    var form = pad.closest("form");
    if (form) {
      form.addEventListener("submit", function () {
        input.value = drawn ? canvas.toDataURL("image/png") : "";
      });
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-signature]"), setup);
  });
})();
