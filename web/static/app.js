// Progressive enhancement only: every page works without JavaScript.
(function () {
  // On the input-log form, jump to the dose once a product is chosen.
  var form = document.getElementById('log-form');
  if (!form) return;
  var product = form.querySelector('select[name="input_product"]');
  var dose = form.querySelector('input[name="dose"]');
  if (product && dose) {
    product.addEventListener('change', function () { if (product.value) dose.focus(); });
  }
})();
