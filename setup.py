# Written by hand from nbdev's template (no pkg_resources): everything comes from settings.ini.
from configparser import ConfigParser
import setuptools, shlex

assert setuptools.__version__ >= '36.2'
config = ConfigParser(delimiters=['='])
config.read('settings.ini', encoding='utf-8')
cfg = config['DEFAULT']

for o in 'version description keywords author author_email'.split():
    assert o in cfg, f"missing expected setting: {o}"

licenses = {'apache2': ('Apache Software License 2.0', 'OSI Approved :: Apache Software License')}
statuses = ['1 - Planning', '2 - Pre-Alpha', '3 - Alpha', '4 - Beta', '5 - Production/Stable', '6 - Mature', '7 - Inactive']
lic = licenses[cfg.get('license', 'apache2')]
requirements = shlex.split(cfg.get('requirements', ''))
dev_requirements = shlex.split(cfg.get('dev_requirements', ''))
freqtrade_requirements = shlex.split(cfg.get('freqtrade_requirements', ''))   # + `pip install --no-deps freqtrade` (README)
ray_requirements = shlex.split(cfg.get('ray_requirements', ''))   # pip install riskrl[ray]: the distributed backend
entry_points = {'console_scripts': cfg.get('console_scripts', '').split()}

setuptools.setup(
    name=cfg['lib_name'],
    version=cfg['version'],
    license=lic[0],
    classifiers=['Development Status :: ' + statuses[int(cfg['status'])],
                 'Intended Audience :: ' + cfg['audience'].title(),
                 'License :: ' + lic[1],
                 'Natural Language :: ' + cfg['language'].title(),
                 'Programming Language :: Python :: 3.12'],
    url=cfg['git_url'],
    packages=setuptools.find_packages(include=['riskrl_nb', 'riskrl_nb.*']),
    include_package_data=True,
    package_data={'riskrl_nb': ['candles/*.md', 'candles/*.py', 'candles/hourly/*.csv.gz', 'candles/daily/*.csv.gz', 'serve/static/*']},
    install_requires=requirements,
    extras_require={'dev': dev_requirements, 'freqtrade': freqtrade_requirements, 'ray': ray_requirements},
    python_requires='>=' + cfg['min_python'],
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    zip_safe=False,
    entry_points=entry_points,
)
