{#- Revenue per day, with one order count per status (a Jinja loop over var('statuses')). -#}
{%- set statuses = var('statuses', ['placed', 'shipped', 'completed']) %}
select
    order_date,
    count(*) as orders,
    sum(paid_amount) as revenue,
    {%- for status in statuses %}
    count(*) filter (where status = '{{ status }}') as {{ status }}_orders{{ "," if not loop.last }}
    {%- endfor %}
from {{ ref('order_payments') }}
where status <> 'returned'
group by order_date
order by order_date
