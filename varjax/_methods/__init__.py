"""Variable's hand-written methods, one mixin per kind; table rows with a convention need
none (see ``varjax._ops``)."""
