"""The strings of django-unfold's pages that staff see and Django's own catalogues lack.

django-unfold 0.91 ships no translations; Django merges catalogues by message id, so listing its
ids here puts them in our catalogues (`makemessages` reads this module) and our translations
show on unfold's pages. Nothing imports this module. The ids must stay exactly as unfold
writes them (whitespace included); re-check them when upgrading django-unfold.
"""

from django.utils.translation import gettext_noop, ngettext_lazy

UNFOLD_MESSAGES = [
    gettext_noop('Select record'),
    gettext_noop('Select action'),
    gettext_noop('Date'),
    gettext_noop('Select action to run'),
    gettext_noop('Submit'),
    gettext_noop('New'),
    gettext_noop('Edit'),
    gettext_noop('Collapse'),
    gettext_noop('Default'),
    gettext_noop('From'),
    gettext_noop('To'),
    gettext_noop('Date from'),
    gettext_noop('Date to'),
    gettext_noop('Not enough data.'),
    gettext_noop('Select value'),
    gettext_noop('Type to search'),
    gettext_noop('Run'),
    gettext_noop('Expand row'),
    gettext_noop('Welcome back to'),
    gettext_noop('Forgotten your password or username?'),
    gettext_noop("After you've created a user, you’ll be able to edit more user options."),
    gettext_noop('You have been successfully logged out from the administration'),
    gettext_noop('No results matching your query'),
    gettext_noop('Loading more results...'),
    gettext_noop('Previous'),
    gettext_noop('Next'),
    gettext_noop('Light'),
    gettext_noop('Dark'),
    gettext_noop('System'),
    gettext_noop('Return to site'),
    gettext_noop('True'),
    gettext_noop('False'),
    gettext_noop('No results found'),
    gettext_noop('This page yielded into no results. Create a new item or reset your filters.'),
    gettext_noop('Reset filters'),
    gettext_noop('Search apps and models...'),
    gettext_noop('Select all rows'),
    gettext_noop('All applications'),
    gettext_noop('General'),
    gettext_noop('Cancel'),
    gettext_noop('Apply Filters'),
    gettext_noop('More actions'),
    gettext_noop('Go back'),
    gettext_noop('Recent searches'),
    gettext_noop('No recent searches'),
    gettext_noop('Record picture'),
    gettext_noop('No data'),
    gettext_noop('Toggle password visibility'),
    ngettext_lazy('\n                Found %(counter)s result in %(time)s seconds\n            ',
                  '\n                Found %(counter)s results in %(time)s seconds\n            ', "counter"),
]
