// Progressive enhancement only: every page works without JavaScript. No inline script anywhere:
// the Content-Security-Policy allows scripts from this file's origin alone.
(function () {
  // Print buttons (labels, certificates).
  document.querySelectorAll('[data-print]').forEach(function (button) {
    button.addEventListener('click', function () { window.print(); });
  });
  // Filters that apply as soon as a choice is made; data-clears names a field that no longer fits.
  document.querySelectorAll('select[data-autosubmit]').forEach(function (select) {
    select.addEventListener('change', function () {
      var clears = select.getAttribute('data-clears');
      if (clears && select.form[clears]) select.form[clears].value = '';
      select.form.submit();
    });
  });
  // On the input-log form, jump to the dose once a product is chosen.
  var form = document.getElementById('log-form');
  if (!form) return;
  var product = form.querySelector('select[name="input_product"]');
  var dose = form.querySelector('input[name="dose"]');
  if (product && dose) {
    product.addEventListener('change', function () { if (product.value) dose.focus(); });
  }
  // The product picker fills in the chosen product's active ingredient, pre-harvest interval,
  // type and usual unit (from the option's data attributes); the farmer sees and may change them.
  if (product && product.hasAttribute('data-product-picker')) {
    var fill = { active_ingredient: 'data-ingredient', phi_days: 'data-phi', input_category: 'data-category',
                 dose_unit: 'data-unit' };
    product.addEventListener('change', function () {
      var option = product.options[product.selectedIndex];
      Object.keys(fill).forEach(function (name) {
        var input = form.querySelector('[name="' + name + '"]');
        if (!input) return;
        var value = option && option.value ? option.getAttribute(fill[name]) : '';
        if (name === 'dose_unit' && input.value && input.dataset.filled !== 'yes') return;  // the farmer's own unit
        input.value = value || '';
        input.dataset.filled = 'yes';
      });
    });
  }
})();
